import GRDB

extension BerthDatabase {
    public func node(id: String) async throws -> NodeRow? {
        try await writer.read { db in try NodeRow.fetchOne(db, key: id) }
    }

    public func nodes() async throws -> [NodeRow] {
        try await writer.read { db in try NodeRow.order(Column("created_at"), Column("id")).fetchAll(db) }
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
        try await writer.write { db in
            for node in nodes {
                if try !node.updateDescription(db) {
                    try node.insert(db)
                }
            }
        }
    }

    /// Writes a batch of the fleet's changes in order, in one transaction.
    ///
    /// A node change updates an existing row and never inserts one, so a node deleted while
    /// its change waited for the batch stays deleted.
    public func commit(_ changes: [StoredChange]) async throws {
        guard !changes.isEmpty else { return }
        try await writer.write { db in
            for change in changes {
                switch change {
                case .node(let node):
                    // `false` when deleted since: nothing to describe.
                    _ = try node.updateDescription(db)
                case .heartbeatFigures(let figures):
                    try Self.saveHeartbeatFigures(db, figures)
                case .nodeEventKey(let nodeID, let epoch, let sequence):
                    // Cached statements for the changes every start makes: compiling one
                    // costs more than running it (GRDB's authorizer runs per compile).
                    try db.cachedStatement(sql: "UPDATE nodes SET event_epoch = ?, event_seq = ? WHERE id = ?")
                        .execute(arguments: [epoch, sequence, nodeID])
                case .instance(let instance):
                    // `false` when purged, or its template deleted, since: nothing to write.
                    _ = try instance.updateAllColumns(db)
                case .transition(let transition):
                    try transition.append(db)
                case .macReleased(let instanceID):
                    try Self.releaseMAC(db, instanceID: instanceID)
                case .command(let command):
                    // The node may have been deleted since; its outbox went with it.
                    guard
                        try Bool.fetchOne(
                            db.cachedStatement(sql: "SELECT 1 FROM nodes WHERE id = ?"),
                            arguments: [command.nodeId]
                        ) != nil
                    else { continue }
                    try command.insertNumbered(db)
                case .commandAcknowledged(let id, let nodeID, let at):
                    try db.cachedStatement(
                        sql: "UPDATE node_commands SET acked_at = ? WHERE id = ? AND node_id = ? AND acked_at IS NULL"
                    ).execute(arguments: [at, id, nodeID])
                case .commandsAcknowledged(let nodeID, let through, let at):
                    try Self.acknowledge(db, upTo: through, nodeID: nodeID, now: at)
                case .instancesPurged(let ids):
                    try Self.deleteInstances(db, ids: ids)
                case .templatesHeld(let nodeID, let versions):
                    try Self.completeDistributions(db, nodeID: nodeID, held: Set(versions))
                case .group(let group):
                    try group.upsert(db)
                case .groupDeleted(let id):
                    try NodeGroupRow.deleteOne(db, key: id)
                case .membership(let nodeIDs, let groupIDs, let member):
                    try Self.setMembership(db, nodeIDs: nodeIDs, groupIDs: groupIDs, member: member)
                }
            }
        }
    }

    /// Writes the figures heartbeats carry (CPU, RAM, free disk, last seen) and nothing else
    /// (``StoredChange/heartbeatFigures(_:)``), so a flush can never roll back capacity,
    /// drain mode or a name. A node deleted meanwhile is skipped.
    static func saveHeartbeatFigures(_ db: Database, _ figures: [HeartbeatFigures]) throws {
        // One UPDATE … FROM (VALUES …) per batch, not a statement per node; a batch's five
        // arguments per node stay far below SQLite's 32,766 bound parameters.
        for start in stride(from: 0, to: figures.count, by: 2000) {
            let batch = figures[start..<min(start + 2000, figures.count)]
            var arguments = StatementArguments()
            for node in batch {
                arguments += [node.nodeID, node.cpuUtil, node.ramUtil, node.freeDisk, node.lastSeen]
            }
            let rows = Array(repeating: "(?, ?, ?, ?, ?)", count: batch.count).joined(separator: ", ")
            try db.execute(
                sql: """
                    WITH figures(id, cpu_util, ram_util, free_disk, last_seen) AS (VALUES \(rows))
                    UPDATE nodes SET cpu_util = figures.cpu_util, ram_util = figures.ram_util,
                        free_disk = figures.free_disk, last_seen = figures.last_seen
                    FROM figures WHERE nodes.id = figures.id
                    """,
                arguments: arguments
            )
        }
    }

    /// Marks every node `Offline`: what is true of a control plane that just started.
    public func markAllNodesOffline() async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE nodes SET state = 'Offline' WHERE state != 'Offline'")
        }
    }

    /// Deletes a node: revokes its certificates, ends its instances and drops its
    /// pending commands, in one transaction. Returns the revoked serial numbers.
    public func deleteNode(id: String, now: Int64) async throws -> [String] {
        try await writer.write { db in
            guard try NodeRow.deleteOne(db, key: id) else {
                throw PersistenceError(.notFound, "no node with id \(id)")
            }
            let serials = try String.fetchAll(
                db,
                sql: "SELECT serial FROM certificates WHERE subject_id = ? AND role = 'node' AND revoked_at IS NULL",
                arguments: [id]
            )
            try db.execute(
                sql:
                    "UPDATE certificates SET revoked_at = ?, revoke_reason = 'node deleted' WHERE subject_id = ? AND role = 'node' AND revoked_at IS NULL",
                arguments: [now, id]
            )
            let live =
                try InstanceRow
                .filter(Column("node_id") == id && Column("state") != "Terminated")
                .fetchAll(db)
            for var instance in live {
                try Self.releaseMAC(db, instanceID: instance.id)
                instance.state = "Terminated"
                instance.message = "node \(id) was deleted"
                instance.ts = now
                try instance.update(db)
                var transition = InstanceTransitionRow(
                    instanceId: instance.id,
                    state: "Terminated",
                    message: instance.message,
                    ts: now
                )
                try transition.insert(db)
            }
            try db.execute(sql: "DELETE FROM node_commands WHERE node_id = ? AND acked_at IS NULL", arguments: [id])
            var event = EventLogRow(
                ts: now,
                kind: "node.deleted",
                subject: id,
                message: "node deleted; certificates revoked: \(serials.joined(separator: ","))"
            )
            try event.insert(db)
            return serials
        }
    }
}
