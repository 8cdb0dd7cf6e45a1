import Foundation
import Persistence
import WireProtocol

extension Fleet {
    /// One node (`id` set) or all of them.
    func listNodes(id: String) async throws -> [NodeRecord] {
        let selected: [NodeRow]
        if !id.isEmpty {
            guard let node = nodes[id] else { throw ControlPlaneError.notFound("No such node \(id)") }
            selected = [node]
        } else {
            selected = nodes.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
        return nodeRecords(selected)
    }

    /// The records of `rows` as the API shows them: live state, load and groups added.
    func nodeRecords(_ selected: [NodeRow]) -> [NodeRecord] {
        let memberships = groups.memberships
        let groupRecords = groups.groups.mapValues(GroupRecord.init)
        return selected.map { node in
            var record = NodeRecord()
            let (row, state, used) = live(node)
            record.nodeID = row.id
            record.name = row.name
            record.state = state
            record.ipAddress = row.ipAddress
            record.cpuCount = row.cpuCount
            record.ramMB = row.ramMb
            record.arch = row.arch
            record.capacity = row.maxVmCount
            record.vmCount = used.count
            record.vcpuCount = used.vcpu
            record.vramMB = used.ramMB
            record.cpuUtil = row.cpuUtil
            record.ramUtil = row.ramUtil
            record.drainMode = row.drainMode
            record.capacityMode = row.capacityMode
            record.templates = TemplateSet(bytes: row.templates).templates
            record.cacheBytes = row.cacheBytes
            record.agentVersion = row.agentVersion
            record.lastSeenMicros = Int(row.lastSeen)
            record.diskSizeBytes = row.diskSize
            record.freeDiskBytes = row.freeDisk
            record.vcpuOverride = row.vcpuOverride
            record.ramOverride = row.ramOverride
            record.host = row.host
            record.vlans = row.vlanList
            record.usbDevices = row.usbDeviceList.map {
                USBDevice(name: $0.name, id: $0.id, busy: used.usbDevices[$0.id] != nil)
            }
            record.groups = (memberships[row.id] ?? []).compactMap { groupRecords[$0] }.sorted { $0.name < $1.name }
            return record
        }
    }

    /// A node as the API shows it now: its row with the latest heartbeat's figures, its
    /// state (Anka's: `Active`, `Updating`, `Unhealthy`, `Offline`, or a reconnect's), and
    /// what occupies it.
    func live(_ node: NodeRow) -> (row: NodeRow, state: String, used: NodeOccupancy) {
        var row = node
        if let heartbeat = links[node.id]?.session.heartbeat.withLock({ $0 }) { apply(heartbeat, to: &row) }
        var state = links[row.id].map(Self.state(of:)) ?? reconnecting[row.id]?.state ?? "Offline"
        let used = instances.occupancy[row.id] ?? NodeOccupancy()
        if state == "Active", Self.isFull(row, usage: (used.count, used.vcpu, used.ramMB)), used.started == 0 {
            // Anka: full, and none of its VMs running (stuck pulling, failed, ...).
            state = "Unhealthy"
        }
        return (row, state, used)
    }

    /// Applies an operator's configuration (`POST /api/v1/node/config`) and reschedules.
    func configureNode(_ request: NodeConfigRequest) async throws {
        guard !request.nodeID.isEmpty else { throw ControlPlaneError.badRequest("node_id is required") }
        if let mode = request.capacityMode, mode != "number" && mode != "resource" {
            throw ControlPlaneError.badRequest("capacity_mode must be number or resource")
        }
        for (name, value) in [
            ("max_vm_count", request.maxVMCount), ("vcpu_override", request.vcpuOverride),
            ("ram_override", request.ramOverride),
        ] {
            if let value, value < 0 { throw ControlPlaneError.badRequest("\(name) must not be negative") }
        }
        if let name = request.name, name.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ControlPlaneError.badRequest("name must not be empty")
        }
        guard var node = nodes[request.nodeID] else {
            throw ControlPlaneError.notFound("No such node \(request.nodeID)")
        }
        if let name = request.name { node.name = name }
        if let host = request.host { node.host = host }
        if let count = request.maxVMCount {
            node.maxVmCount = count
            node.capacityConfigured = true
        }
        if let mode = request.capacityMode { node.capacityMode = mode }
        if let vcpu = request.vcpuOverride { node.vcpuOverride = vcpu }
        if let ram = request.ramOverride { node.ramOverride = ram }
        if let drain = request.drainMode { node.drainMode = drain }
        nodes[node.id] = node
        // In force at once (the scheduler honours a drain from now on); answered when durable.
        let saved = journal.append(.node(node))
        requestScheduling()
        logger.info(
            "node configured",
            metadata: ["node": "\(node.id)", "capacity": "\(node.maxVmCount)", "drain": "\(node.drainMode)"]
        )
        try await journal.durable(saved)
    }

    /// Deletes a node: revokes its certificates (durably, then in memory), ends its
    /// instances and drops its live connection.
    ///
    /// The node leaves memory first, so no hello can register it while storage is written;
    /// if the write fails, it is put back and the caller told.
    func deleteNode(id: String, by actor: String = "root") async throws {
        guard !id.isEmpty else { throw ControlPlaneError.badRequest("node_id is required") }
        guard let removed = nodes.removeValue(forKey: id) else {
            throw ControlPlaneError.notFound("No such node \(id)")
        }
        reconnecting.removeValue(forKey: id)
        storedFigures.removeValue(forKey: id)
        if let link = links.removeValue(forKey: id) {
            link.session.close(with: WireError(.unauthenticated, "node \(id) was deleted; its certificate is revoked"))
        }
        requestScheduling()
        let serials: [String]
        do {
            // Changes made before (a placement, an event) reach storage before the delete,
            // so none of them can land after it and bring an ended instance back.
            try await journal.durable(journal.latest)
            serials = try await database.deleteNode(id: id, now: BerthDatabase.nowMicros())
        } catch let error as PersistenceError where error.code == .notFound {
            throw ControlPlaneError.notFound("No such node \(id)")
        } catch {
            // Not deleted: the node is enrolled still and may connect again.
            if nodes[id] == nil { nodes[id] = removed }
            throw error
        }
        // Storage ended the node's instances and dropped its outbox; memory follows, and
        // journals the same rows again after any change appended while the delete ran.
        let now = BerthDatabase.nowMicros()
        for var instance in instances.placed(on: id) {
            instance.state = "Terminated"
            instance.message = "node \(id) was deleted"
            instance.ts = now
            instance.recordStop(.nodeLost, by: actor, at: now)
            save(instance)
            publishInstance(id: instance.id)
        }
        outbox.drop(nodeID: id)
        groups.removeNode(id)
        for serial in serials { revocations.revoke(serial) }
        events.publish(.node(id: id, state: "Deleted"))
        logger.notice("node deleted; certificates revoked", metadata: ["node": "\(id)", "serials": "\(serials)"])
        requestScheduling()
    }
}

extension Fleet {
    /// Whether a node has no room left in its capacity mode.
    static func isFull(_ node: NodeRow, usage: (count: Int, vcpu: Int, vram: Int)) -> Bool {
        guard usage.count > 0 else { return false }
        if node.capacityMode == "resource" {
            let vcpu = node.vcpuOverride > 0 ? node.vcpuOverride : node.cpuCount
            let ram = node.ramOverride > 0 ? node.ramOverride * 1024 : node.ramMb
            return usage.vcpu >= vcpu || usage.vram >= ram
        }
        return usage.count >= node.maxVmCount
    }

    /// Anka's node state for a node's link: `Active`, `Updating` or `Offline`.
    static func state(of link: NodeLink?) -> String {
        guard let link, link.ready else { return "Offline" }
        return link.updating ? "Updating" : "Active"
    }

    /// Queues an agent update for every enrolled node (or those in `only`) and returns their ids.
    ///
    /// The command goes through each node's outbox, so a node that is offline now updates
    /// when it reconnects.
    func updateNodeAgents(only: Set<String>?) async throws -> [String] {
        let targets = nodes.keys.filter { only?.contains($0) ?? true }.sorted()
        let now = BerthDatabase.nowMicros()
        for nodeID in targets {
            queueCommand(nodeID: nodeID, instanceID: "", kind: "update_agent", payload: nil, now: now)
        }
        try await journal.durable(journal.latest)
        for nodeID in targets { await flushCommands(nodeID: nodeID) }
        logger.info("agent update requested", metadata: ["nodes": "\(targets.count)"])
        return targets
    }

    /// A node's heartbeat says it started or finished updating its agent.
    func nodeUpdating(_ session: PeerSession, _ updating: Bool) {
        let nodeID = session.identity.id
        guard links[nodeID]?.session === session else { return }
        links[nodeID]?.updating = updating
        events.publish(.node(id: nodeID, state: updating ? "Updating" : "Active"))
        if !updating { requestScheduling() }
    }
}
