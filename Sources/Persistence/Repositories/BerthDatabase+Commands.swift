import GRDB

extension BerthDatabase {
    /// Commands a node has not acknowledged yet, oldest first.
    public func pendingCommands(nodeID: String) async throws -> [NodeCommandRow] {
        try await writer.read { db in
            try NodeCommandRow
                .filter(Column("node_id") == nodeID && Column("acked_at") == nil)
                .order(Column("id"))
                .fetchAll(db)
        }
    }

    /// Marks one command acknowledged. Returns `false` if it was already (a duplicate ack).
    @discardableResult
    public func acknowledgeCommand(id: Int64, nodeID: String, now: Int64) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE node_commands SET acked_at = ? WHERE id = ? AND node_id = ? AND acked_at IS NULL",
                arguments: [now, id, nodeID]
            )
            return db.changesCount > 0
        }
    }

    /// Marks every command up to `id` acknowledged (a node's hello says it applied them).
    public func acknowledgeCommands(upTo id: Int64, nodeID: String, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE node_commands SET acked_at = ? WHERE node_id = ? AND id <= ? AND acked_at IS NULL",
                arguments: [now, nodeID, id]
            )
        }
    }
}

extension BerthDatabase {
    /// Adds a command to a node's outbox and returns it with its id.
    public func queueCommand(_ command: NodeCommandRow) async throws -> NodeCommandRow {
        try await writer.write { db in
            var command = command
            try command.insert(db)
            return command
        }
    }
}
