import Foundation

/// Places waiting instances on nodes. Pure: no I/O, no clock, so it is tested directly.
///
/// Order: priority (lower first), then age (FIFO), then id. A node qualifies when it is
/// active, not draining, matches the template's architecture and the request's
/// `node_id`, and has room: a free slot (capacity mode `number`), or enough free vCPUs
/// and RAM for the VM (capacity mode `resource`). Among qualifying nodes, one that already holds the
/// template wins, then the one with the most free slots. Every instance left waiting
/// gets a reason a person can act on.
public struct Scheduler: Sendable {
    public struct Decision: Sendable, Equatable {
        /// Instance id → node id.
        public var placements: [(instanceID: String, nodeID: String)]
        /// Instance id → why it still waits.
        public var waiting: [String: String]

        public static func == (lhs: Decision, rhs: Decision) -> Bool {
            lhs.placements.map { "\($0.instanceID)>\($0.nodeID)" }
                == rhs.placements.map { "\($0.instanceID)>\($0.nodeID)" }
                && lhs.waiting == rhs.waiting
        }
    }

    /// Scan every node for every request, with no pools and no kept reasons: the plain
    /// algorithm, which the pooled one is tested against.
    public var exhaustive = false

    public init(exhaustive: Bool = false) {
        self.exhaustive = exhaustive
    }

    public func schedule(queue: [SchedulerRequest], nodes: [SchedulerNode]) -> Decision {
        let index = Dictionary(nodes.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { a, _ in a })
        var nodes = nodes
        var pools = CandidatePools()
        return schedule(queue: queue, nodes: &nodes, index: index, pools: &pools)
    }

    /// The same, on nodes and candidate pools the caller keeps between passes
    /// (``SchedulingView``), with the nodes' index. The nodes it places on are occupied in
    /// place (no copy of every node) and told to the pools; the caller must rebuild those
    /// nodes from the truth before the next pass.
    func schedule(
        queue: [SchedulerRequest],
        nodes: inout [SchedulerNode],
        index: [String: Int],
        pools: inout CandidatePools
    ) -> Decision {
        let ordered = queue.sorted {
            ($0.priority, $0.createdMicros, $0.instanceID) < ($1.priority, $1.createdMicros, $1.instanceID)
        }
        var decision = Decision(placements: [], waiting: [:])
        pools.beginPass(nodeCount: nodes.count)
        // A reason holds until the next placement changes some node.
        var reasons: [CandidatePool.Shape: (reason: String, placements: Int, allowed: Set<String>?)] = [:]
        for request in ordered {
            let shape = CandidatePool.Shape(request)
            var best: Int?
            if exhaustive {
                best = exhaustivePick(request, nodes)
            } else if !request.targetNodeID.isEmpty {
                // Anka `node_id`: one candidate, in the group chain if there is one.
                if let i = index[request.targetNodeID], qualifies(nodes[i], for: request),
                    request.groupChain.isEmpty
                        || request.groupChain.contains(where: { nodes[i].groups.contains($0.id) })
                {
                    best = i
                }
            } else if request.groupChain.isEmpty {
                best = bestNode(.init(shape: shape, group: nil), request, nodes, &pools) { nodes.indices }
            } else {
                for group in request.groupChain {
                    best = bestNode(.init(shape: shape, group: group.id), request, nodes, &pools) {
                        nodes.indices.filter { nodes[$0].groups.contains(group.id) }
                    }
                    if best != nil { break }
                }
            }
            if let best {
                nodes[best].occupy(vcpu: request.vcpu, ramMB: request.ramMB, usbDevice: request.usbDevice)
                if !exhaustive { pools.nodeChanged(at: best, nodes: nodes) }
                decision.placements.append((request.instanceID, nodes[best].id))
            } else if !exhaustive, request.targetNodeID.isEmpty, let known = reasons[shape],
                known.placements == decision.placements.count, known.allowed == request.allowedNodes
            {
                decision.waiting[request.instanceID] = known.reason
            } else {
                let reason = reason(for: request, nodes: nodes, index: index)
                decision.waiting[request.instanceID] = reason
                if request.targetNodeID.isEmpty {
                    reasons[shape] = (reason, decision.placements.count, request.allowedNodes)
                }
            }
        }
        return decision
    }

    /// The plain algorithm: every node in turn, for each group of the chain.
    private func exhaustivePick(_ request: SchedulerRequest, _ nodes: [SchedulerNode]) -> Int? {
        if request.groupChain.isEmpty { return pick(from: nodes.indices, in: nodes, for: request) }
        for group in request.groupChain {
            if let best = pick(
                from: nodes.indices.filter { nodes[$0].groups.contains(group.id) },
                in: nodes,
                for: request
            ) {
                return best
            }
        }
        return nil
    }

    /// The best node for `request` from its shape's pool, or by a scan when the pool was
    /// built this pass for other allowed nodes under the same permission group name.
    private func bestNode<Candidates: Sequence<Int>>(
        _ key: CandidatePools.Key,
        _ request: SchedulerRequest,
        _ nodes: [SchedulerNode],
        _ pools: inout CandidatePools,
        candidates: () -> Candidates
    ) -> Int? {
        if let pooled = pools.best(key, request, nodes: nodes, qualifies: { qualifies($0, for: $1) }) {
            return pooled
        }
        return pick(from: candidates(), in: nodes, for: request)
    }

    private func pick(
        from candidates: some Sequence<Int>,
        in nodes: [SchedulerNode],
        for request: SchedulerRequest
    ) -> Int? {
        var best: Int?
        for i in candidates where qualifies(nodes[i], for: request) {
            if let current = best, !isBetter(nodes[i], than: nodes[current], for: request) { continue }
            best = i
        }
        return best
    }

    private func archMatches(_ node: SchedulerNode, _ request: SchedulerRequest) -> Bool {
        request.arch.isEmpty || node.arch.isEmpty || node.arch == request.arch
    }

    private func qualifies(_ node: SchedulerNode, for request: SchedulerRequest) -> Bool {
        (request.targetNodeID.isEmpty || node.id == request.targetNodeID)
            && (request.allowedNodes?.contains(node.id) ?? true)
            && node.isActive && !node.drainMode && archMatches(node, request)
            && node.hasRoom(vcpu: request.vcpu, ramMB: request.ramMB)
            && (request.usbDevice.isEmpty || (node.usbFree[request.usbDevice] ?? 0) > 0)
    }

    private func isBetter(_ a: SchedulerNode, than b: SchedulerNode, for request: SchedulerRequest) -> Bool {
        if !request.tag.isEmpty {
            let version = SchedulerNode.versionKey(templateID: request.templateID, tag: request.tag)
            let aHolds = a.versions.contains(version)
            if aHolds != b.versions.contains(version) { return aHolds }
        }
        let aHolds = a.templates.contains(request.templateID)
        let bHolds = b.templates.contains(request.templateID)
        if aHolds != bHolds { return aHolds }
        if a.headroom != b.headroom { return a.headroom > b.headroom }
        return a.id < b.id
    }

    private func reason(for request: SchedulerRequest, nodes: [SchedulerNode], index: [String: Int]) -> String {
        if !request.targetNodeID.isEmpty {
            guard let i = index[request.targetNodeID] else {
                return "requested node \(request.targetNodeID) is not known to the controller"
            }
            let node = nodes[i]
            let label = node.name.isEmpty ? node.id : "\(node.name) (\(node.id))"
            if let allowed = request.allowedNodes, !allowed.contains(node.id) {
                return "permission group \(request.permissionGroup) may not create instances on requested node \(label)"
            }
            if !node.isActive { return "requested node \(label) is not active" }
            if node.drainMode { return "requested node \(label) is in drain mode" }
            if !request.usbDevice.isEmpty, (node.usbFree[request.usbDevice] ?? 0) <= 0 {
                return "requested node \(label) has no free USB device \(request.usbDevice)"
            }
            if !archMatches(node, request) {
                return "requested node \(label) is \(node.arch); the template needs \(request.arch)"
            }
            return "requested node \(label) is at capacity (\(node.usage)\(size(request, on: node)))"
        }
        if nodes.isEmpty { return "no node has joined the controller" }
        var nodes = nodes
        var scope = ""
        if let allowed = request.allowedNodes {
            nodes = nodes.filter { allowed.contains($0.id) }
            if nodes.isEmpty {
                return "permission group \(request.permissionGroup) may create instances on no joined node"
            }
            scope = "permitted to group \(request.permissionGroup) "
        }
        if !request.groupChain.isEmpty {
            let chain = Set(request.groupChain.map(\.id))
            let names = request.groupChain.map(\.name).joined(separator: " → ")
            nodes = nodes.filter { !$0.groups.isDisjoint(with: chain) }
            if nodes.isEmpty {
                return request.groupChain.count == 1 ? "group \(names) has no nodes" : "groups \(names) have no nodes"
            }
            scope = request.groupChain.count == 1 ? "in group \(names) " : "in groups \(names) "
        }
        if !request.usbDevice.isEmpty {
            let holders = nodes.filter { $0.isActive && $0.usbFree[request.usbDevice] != nil }
            if holders.isEmpty { return "no active node \(scope)has a USB device \(request.usbDevice)" }
            if holders.allSatisfy({ ($0.usbFree[request.usbDevice] ?? 0) <= 0 }) {
                return "every USB device \(request.usbDevice) \(scope)is busy".replacingOccurrences(of: "  ", with: " ")
            }
        }
        let active = nodes.filter(\.isActive)
        if active.isEmpty { return "no active node \(scope)(\(nodes.count) offline)" }
        var parts: [String] = []
        let draining = active.filter(\.drainMode).count
        let candidates = active.filter { !$0.drainMode }
        let wrongArch = candidates.filter { !archMatches($0, request) }.count
        let full = candidates.filter {
            archMatches($0, request) && !$0.hasRoom(vcpu: request.vcpu, ramMB: request.ramMB)
        }.count
        if !request.arch.isEmpty && wrongArch == candidates.count && draining == 0 {
            return "no active \(request.arch) node \(scope)".trimmingCharacters(in: .whitespaces)
        }
        if full > 0 { parts.append("\(full) at capacity") }
        if draining > 0 { parts.append("\(draining) in drain mode") }
        if wrongArch > 0 { parts.append("\(wrongArch) not \(request.arch)") }
        let offline = nodes.count - active.count
        if offline > 0 { parts.append("\(offline) offline") }
        return "waiting for capacity \(scope)".trimmingCharacters(in: .whitespaces) + ": "
            + parts.joined(separator: ", ")
    }

    /// `; needs 4 vCPU, 8192 MB` for a resource-capacity node.
    private func size(_ request: SchedulerRequest, on node: SchedulerNode) -> String {
        node.resourceCapacity ? "; needs \(request.vcpu) vCPU, \(request.ramMB) MB" : ""
    }
}
