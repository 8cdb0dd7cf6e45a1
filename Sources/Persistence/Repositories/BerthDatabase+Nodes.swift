extension BerthDatabase {
    public func node(id: String) async throws -> NodeRow? {
        try await engine.read { db in try db.fetch(NodeRow.self, key: .text(id)) }
    }

    public func nodes() async throws -> [NodeRow] {
        try await engine.read { db in try db.fetch(NodeRow.self, "ORDER BY created_at, id") }
    }

    /// Saves a node's description and state (after hello or a state change).
    ///
    /// The event key columns are left alone: only ``applyTransition(_:)`` writes them, in the
    /// same transaction as the event, so a stale copy of the row can never roll them back.
    public func saveNode(_ node: NodeRow) async throws {
        try await saveNodes([node])
    }

    /// Saves several nodes' descriptions and states in one transaction.
    public func saveNodes(_ nodes: [NodeRow]) async throws {
        guard !nodes.isEmpty else { return }
        try await engine.write { db in
            for node in nodes where try !node.updateDescription(db) {
                try db.insert(node)
            }
        }
    }

    /// Writes a batch of the fleet's changes in order, in one transaction.
    ///
    /// A node change updates an existing row and never inserts one, so a node deleted while
    /// its change waited for the batch stays deleted.
    public func commit(_ changes: [StoredChange]) async throws {
        guard !changes.isEmpty else { return }
        // The nodes that commands are for, read once before the batch: a node may have
        // been deleted since its command was queued (its outbox went with it). No change
        // creates or deletes a node, so the answer holds for the whole batch.
        let commandNodes = Array(
            Set(changes.compactMap { change -> String? in if case .command(let command) = change { command.nodeId } else { nil } })
        )
        try await engine.write { db in
            let existing = try Self.existingNodes(db, among: commandNodes)
            var lastNumberedCommand: Int64 = 0
            // Most statements are sent ahead (`executeLater`): on PostgreSQL a batch is then
            // a few round trips rather than one per statement.
            for change in changes {
                switch change {
                case .node(let node):
                    // Changes nothing when deleted since: nothing to describe.
                    try db.executeLater(NodeRow.updateDescriptionSQL, node.descriptionArguments)
                case .heartbeatFigures(let figures):
                    try Self.saveHeartbeatFigures(db, figures)
                case .nodeEventKey(let nodeID, let epoch, let sequence):
                    try db.executeLater(
                        "UPDATE nodes SET event_epoch = ?, event_seq = ? WHERE id = ?",
                        [.integer(epoch), .integer(sequence), .text(nodeID)]
                    )
                case .instance(let instance):
                    // Changes nothing when purged, or its template deleted, since.
                    try instance.updateAllColumnsLater(db)
                case .transition(let transition):
                    try transition.append(db)
                case .macReleased(let instanceID):
                    try Self.releaseMAC(db, instanceID: instanceID)
                case .command(let command):
                    // The node may have been deleted since; its outbox went with it.
                    guard existing.contains(command.nodeId) else { continue }
                    lastNumberedCommand = max(lastNumberedCommand, try command.insertNumbered(db))
                case .commandAcknowledged(let id, let nodeID, let at):
                    try db.executeLater(Self.acknowledgeSQL, [.integer(at), .integer(id), .text(nodeID)])
                case .commandsAcknowledged(let nodeID, let through, let at):
                    try Self.acknowledge(db, upTo: through, nodeID: nodeID, now: at)
                case .instancesPurged(let ids):
                    try Self.deleteInstances(db, ids: ids)
                case .templatesHeld(let nodeID, let versions):
                    try Self.completeDistributions(db, nodeID: nodeID, held: Set(versions))
                case .environment(let environment):
                    try db.save(environment)
                case .environmentPurged(let id):
                    _ = try db.delete(EnvironmentRow.self, key: .text(id))
                case .group(let group):
                    try db.save(group)
                case .groupDeleted(let id):
                    try db.delete(NodeGroupRow.self, key: .text(id))
                case .membership(let nodeIDs, let groupIDs, let member):
                    try Self.setMembership(db, nodeIDs: nodeIDs, groupIDs: groupIDs, member: member)
                }
            }
            try Self.advanceCommandSequence(db, past: lastNumberedCommand)
        }
    }

    /// Which of `ids` are nodes now, in batches of 500.
    static func existingNodes(_ db: any SQLTransaction, among ids: [String]) throws -> Set<String> {
        var found = Set<String>()
        for start in stride(from: 0, to: ids.count, by: 500) {
            let batch = ids[start..<min(start + 500, ids.count)].map(SQLValue.text)
            let marks = Array(repeating: "?", count: batch.count).joined(separator: ", ")
            for value in try db.values("SELECT id FROM nodes WHERE id IN (\(marks))", batch) {
                if let id = value.string { found.insert(id) }
            }
        }
        return found
    }

    /// Writes the figures heartbeats carry (CPU, RAM, free disk, last seen) and nothing else
    /// (``StoredChange/heartbeatFigures(_:)``), so a flush can never roll back capacity,
    /// drain mode or a name. A node deleted meanwhile is skipped.
    static func saveHeartbeatFigures(_ db: any SQLTransaction, _ figures: [HeartbeatFigures]) throws {
        // One UPDATE … FROM (VALUES …) per batch, not a statement per node; a batch's five
        // arguments per node stay far below SQLite's 32,766 bound parameters and
        // PostgreSQL's 65,535.
        for start in stride(from: 0, to: figures.count, by: 2000) {
            let batch = figures[start..<min(start + 2000, figures.count)]
            var arguments: [SQLValue] = []
            arguments.reserveCapacity(batch.count * 5)
            for node in batch {
                arguments += [
                    .text(node.nodeID), .real(node.cpuUtil), .real(node.ramUtil), SQLValue(node.freeDisk),
                    .integer(node.lastSeen),
                ]
            }
            let rows = Array(repeating: "(?, ?, ?, ?, ?)", count: batch.count).joined(separator: ", ")
            try db.executeLater(
                """
                WITH figures(id, cpu_util, ram_util, free_disk, last_seen) AS (VALUES \(rows))
                UPDATE nodes SET cpu_util = figures.cpu_util, ram_util = figures.ram_util,
                    free_disk = figures.free_disk, last_seen = figures.last_seen
                FROM figures WHERE nodes.id = figures.id
                """,
                arguments
            )
        }
    }

    /// Marks every node `Offline`: what is true of a control plane that just started.
    public func markAllNodesOffline() async throws {
        try await engine.write { db in try db.execute("UPDATE nodes SET state = 'Offline' WHERE state <> 'Offline'", []) }
    }

    /// Deletes a node: revokes its certificates, ends its instances and drops its
    /// pending commands, in one transaction. Returns the revoked serial numbers.
    public func deleteNode(id: String, now: Int64) async throws -> [String] {
        try await engine.write { db in
            guard try db.delete(NodeRow.self, key: .text(id)) else {
                throw PersistenceError(.notFound, "no node with id \(id)")
            }
            let serials = try db.values(
                "SELECT serial FROM certificates WHERE subject_id = ? AND role = 'node' AND revoked_at IS NULL",
                [.text(id)]
            ).compactMap(\.string)
            try db.execute(
                """
                UPDATE certificates SET revoked_at = ?, revoke_reason = 'node deleted'
                WHERE subject_id = ? AND role = 'node' AND revoked_at IS NULL
                """,
                [.integer(now), .text(id)]
            )
            let live = try db.fetch(InstanceRow.self, "WHERE node_id = ? AND state <> 'Terminated'", [.text(id)])
            for var instance in live {
                try Self.releaseMAC(db, instanceID: instance.id)
                instance.state = "Terminated"
                instance.message = "node \(id) was deleted"
                instance.ts = now
                _ = try instance.updateAllColumns(db)
                try InstanceTransitionRow(instanceId: instance.id, state: "Terminated", message: instance.message, ts: now)
                    .append(db)
            }
            try db.execute("DELETE FROM node_commands WHERE node_id = ? AND acked_at IS NULL", [.text(id)])
            var event = EventLogRow(
                ts: now,
                kind: "node.deleted",
                subject: id,
                message: "node deleted; certificates revoked: \(serials.joined(separator: ","))"
            )
            try Self.append(db, &event)
            return serials
        }
    }
}
