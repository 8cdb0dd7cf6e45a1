import Foundation
import Metrics
import Persistence
import WireProtocol

extension Fleet {
    /// Asks for a scheduling pass. Requests made while one runs fold into one more pass.
    func requestScheduling() {
        if schedulingRunning {
            schedulingRequested = true
            return
        }
        schedulingRunning = true
        Task { await self.schedulingLoop() }
    }

    private func schedulingLoop() async {
        repeat {
            schedulingRequested = false
            await runSchedulingPass()
        } while schedulingRequested
        schedulingRunning = false
    }

    /// One pass: place what can be placed, record why the rest waits, then send the start
    /// commands once the placements are durable.
    ///
    /// The pass reads only the queue and each node's ``NodeOccupancy``, which
    /// ``InstanceTable`` keeps up to date as instances change: its cost follows the queue
    /// and the number of nodes, never the number of live instances. What it reads from
    /// elsewhere (permissions, groups) it reads first; from the queue to the journal there is
    /// no suspension, so no change can come between the decision and its record.
    func runSchedulingPass() async {
        guard !instances.queued.isEmpty else { return }
        let clock = ContinuousClock()
        var allowed: [String: Set<String>] = [:]
        if let permissions {
            let names = Set(instances.queued.compactMap { instances[$0]?.permissionGroup }).filter { !$0.isEmpty }
            for name in names {
                allowed[name] = await permissions.resourceIDs([name], type: "node", permission: "create_instance")
            }
        }
        if Task.isCancelled { return }
        // From here to the journal: no suspension.
        let memberships = groups.memberships
        var pending = instances.queued.compactMap { instances[$0] }
        if permissions != nil {
            // A permission group that appeared during the reads waits for the next pass.
            let unread = pending.contains { !$0.permissionGroup.isEmpty && allowed[$0.permissionGroup] == nil }
            pending.removeAll { !$0.permissionGroup.isEmpty && allowed[$0.permissionGroup] == nil }
            if unread { schedulingRequested = true }
        }
        pending.sort { ($0.priority, $0.crTime, $0.id) < ($1.priority, $1.crTime, $1.id) }
        if pending.count > 10_000 { pending.removeLast(pending.count - 10_000) }
        let began = clock.now
        refreshSchedulingView()
        // Decoded once per pass: the USB device group each waiting instance asked for.
        let usbWanted = Dictionary(
            pending.compactMap { row -> (String, String)? in
                let name = Self.usbDeviceName(of: row)
                return name.isEmpty ? nil : (row.id, name)
            },
            uniquingKeysWith: { a, _ in a }
        )
        let decision = schedulingView.schedule(
            scheduler,
            queue: pending.map {
                var request = SchedulerRequest(
                    instanceID: $0.id,
                    priority: $0.priority,
                    createdMicros: $0.crTime,
                    templateID: $0.templateId,
                    arch: $0.arch,
                    vcpu: $0.vcpu,
                    ramMB: $0.vramMb,
                    usbDevice: usbWanted[$0.id] ?? "",
                    targetNodeID: $0.targetNodeId,
                    groupChain: $0.groupId.isEmpty ? [] : Self.groupChain(from: $0.groupId, groups: groups),
                    permissionGroup: $0.permissionGroup,
                    allowedNodes: allowed[$0.permissionGroup]
                )
                request.tag = $0.tag
                return request
            }
        )
        let now = BerthDatabase.nowMicros()
        var placed: [String] = []
        var commandNodes: Set<String> = []
        for placement in decision.placements {
            guard var row = instances[placement.instanceID], InstanceTable.isQueued(row) else { continue }
            let nodeName = nodes[placement.nodeID]?.name ?? ""
            var spec = Self.startSpec(for: row, nodeID: placement.nodeID, nodeName: nodeName, now: now)
            let wanted = usbWanted[row.id] ?? ""
            if !wanted.isEmpty, let node = nodes[placement.nodeID] {
                // Free now: the rows saved for earlier placements of this pass hold theirs.
                spec.options.usbDeviceID = freeUSBDevices(of: node).first { $0.name == wanted }?.id ?? ""
            }
            row.nodeId = placement.nodeID
            row.inflightReqid = RandomID.uuid()
            row.waitReason = ""
            row.ts = now
            row.usbDeviceId = spec.options.usbDeviceID
            save(row)
            queueCommand(
                nodeID: placement.nodeID,
                instanceID: row.id,
                kind: "start",
                payload: spec.encodedBytes(),
                now: now
            )
            placed.append(row.id)
            commandNodes.insert(placement.nodeID)
            logger.debug("instance placed", metadata: ["instance": "\(row.id)", "node": "\(placement.nodeID)"])
            metrics.queueWait.recordMicroseconds(max(0, now - row.crTime))
        }
        metrics.placementPass.record(duration: clock.now - began)
        metrics.placements.increment(by: placed.count)
        // Watchers learn why an instance waits as soon as the reason changes.
        var reasonsChanged: [String] = []
        for (id, reason) in decision.waiting {
            guard var row = instances[id], InstanceTable.isQueued(row), row.waitReason != reason else { continue }
            row.waitReason = reason
            save(row)
            reasonsChanged.append(id)
        }
        guard !placed.isEmpty || !reasonsChanged.isEmpty else { return }
        // The next pass does not wait for this one's commit: its records follow these in
        // the journal (group commit often takes both in one transaction), and the memory it
        // reads already holds these placements. What leaves the control plane (start
        // commands, published states, the log line) waits until the pass is durable.
        let through = journal.latest
        let waiting = decision.waiting.count
        Task {
            await self.passDurable(
                through,
                placed: placed,
                reasonsChanged: reasonsChanged,
                commandNodes: commandNodes,
                waiting: waiting
            )
        }
    }

    /// Brings the scheduling view up to date: rebuilds the nodes whose row, link,
    /// occupancy or groups changed since the last pass (every node on the first one).
    func refreshSchedulingView() {
        var changed = nodes.takeChanged()
        changed.formUnion(links.takeChanged())
        changed.formUnion(instances.takeChangedNodes())
        changed.formUnion(groups.takeChangedNodes())
        changed.formUnion(schedulingView.takeOccupied())
        if schedulingView.isEmpty {
            changed.formUnion(nodes.keys)
            schedulingView.markFilled()
        }
        for id in changed {
            guard let node = nodes[id] else {
                schedulingView.update(id, to: nil)
                heldTemplates.forget(id)
                continue
            }
            schedulingView.update(id, to: schedulerNode(for: node))
        }
    }

    /// Whether the view, once refreshed, holds what building every node afresh gives: the
    /// check tests make after each kind of change, so a change the view misses fails one.
    func schedulingViewMatchesRebuild() -> Bool {
        refreshSchedulingView()
        let view = schedulingView.nodes
        let indexed = view.indices.allSatisfy { schedulingView.index[view[$0].id] == $0 }
        let rebuilt = nodes.values.map(schedulerNode(for:)).sorted { $0.id < $1.id }
        return indexed && schedulingView.index.count == view.count && view.sorted { $0.id < $1.id } == rebuilt
    }

    /// What the scheduler needs to know of one node now.
    private func schedulerNode(for node: NodeRow) -> SchedulerNode {
        let held = heldTemplates.held(by: node)
        let used = instances.occupancy[node.id] ?? NodeOccupancy()
        var candidate = SchedulerNode(
            id: node.id,
            name: node.name,
            arch: node.arch,
            isActive: links[node.id]?.ready == true && links[node.id]?.updating != true,
            drainMode: node.drainMode,
            maxVMCount: node.maxVmCount,
            running: used.count,
            templates: held.templates,
            groups: groups.memberships[node.id] ?? [],
            resourceCapacity: node.capacityMode == "resource",
            vcpuCapacity: node.vcpuOverride > 0 ? node.vcpuOverride : node.cpuCount,
            // ram_override is in GB, like the node's `ram`.
            ramCapacityMB: node.ramOverride > 0 ? node.ramOverride * 1024 : node.ramMb,
            usedVCPU: used.vcpu,
            usedRAMMB: used.ramMB,
            usbFree: node.usbDevices.isEmpty
                ? [:] : freeUSBDevices(of: node).reduce(into: [:]) { $0[$1.name, default: 0] += 1 }
        )
        candidate.versions = held.versions
        return candidate
    }

    /// A node's USB devices that no live instance holds.
    private func freeUSBDevices(of node: NodeRow) -> [(name: String, id: String)] {
        let held = instances.occupancy[node.id]?.usbDevices ?? [:]
        return node.usbDeviceList.filter { held[$0.id] == nil }
    }

    /// What follows a scheduling pass once its records are durable: the start commands,
    /// the instances' new states, and the log line benchmarks read.
    private func passDurable(
        _ through: FleetJournal.Ticket,
        placed: [String],
        reasonsChanged: [String],
        commandNodes: Set<String>,
        waiting: Int
    ) async {
        // flushCommands waits for the commands' own commit before sending.
        for nodeID in commandNodes { await flushCommands(nodeID: nodeID) }
        await journal.committed(through)
        for id in placed + reasonsChanged { publishInstance(id: id) }
        if !placed.isEmpty {
            logger.debug("scheduling pass", metadata: ["placed": "\(placed.count)", "waiting": "\(waiting)"])
        }
    }

    /// The `usb_device` a start asked for.
    static func usbDeviceName(of row: InstanceRow) -> String {
        guard let bytes = row.startOptions else { return "" }
        return (try? StartOptions(bytes: bytes))?.usbDevice ?? ""
    }

    static func startSpec(for row: InstanceRow, nodeID: String, nodeName: String, now: Int64) -> StartSpec {
        var spec = StartSpec()
        spec.templateID = row.templateId
        spec.templateName = row.templateName
        spec.tag = row.tag
        spec.versionNumber = row.version
        spec.cpuCores = row.vcpu
        spec.ramMB = row.vramMb
        spec.arch = row.arch
        spec.options = row.startOptions.flatMap { try? StartOptions(bytes: $0) } ?? StartOptions()
        spec.options.macAddress = row.macAddress  // drawn from the managed pool, or as given
        let name =
            spec.options.nameTemplate.isEmpty
            ? "\(row.templateName)-\(now)000"
            : spec.options.nameTemplate
                .replacingOccurrences(of: "$template_name", with: row.templateName)
                .replacingOccurrences(of: "$template_id", with: row.templateId)
                .replacingOccurrences(of: "$instance_id", with: row.id)
                .replacingOccurrences(of: "$node_id", with: nodeID)
                .replacingOccurrences(of: "$node_name", with: nodeName)
                .replacingOccurrences(of: "$ts", with: "\(now / 1_000_000)")
        spec.vmName = "mgmtManaged-\(name)"
        return spec
    }
}
