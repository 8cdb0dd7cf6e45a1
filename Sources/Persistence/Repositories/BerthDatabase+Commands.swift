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

    /// Every command not acknowledged yet, in id order (the fleet's outbox, at start).
    public func pendingCommands() async throws -> [NodeCommandRow] {
        try await writer.read { db in
            try NodeCommandRow.filter(Column("acked_at") == nil).order(Column("id")).fetchAll(db)
        }
    }

    /// The command epochs in the order they began, each with the first id it issued, and
    /// the highest id this database has issued.
    public func commandHistory() async throws -> (epochs: [(epoch: Int64, firstID: Int64)], lastID: Int64) {
        try await writer.read { db in
            let epochs = try Row.fetchAll(db, sql: "SELECT epoch, first_id FROM command_epochs ORDER BY seq").map {
                (epoch: $0["epoch"] as Int64, firstID: $0["first_id"] as Int64)
            }
            return (epochs, try Self.lastCommandID(db))
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
        try await writer.write { db in try Self.acknowledge(db, upTo: id, nodeID: nodeID, now: now) }
    }

    /// Marks a node's unacknowledged commands up to `id` acknowledged.
    static func acknowledge(_ db: Database, upTo id: Int64, nodeID: String, now: Int64) throws {
        try db.cachedStatement(
            sql: "UPDATE node_commands SET acked_at = ? WHERE node_id = ? AND id <= ? AND acked_at IS NULL"
        ).execute(arguments: [now, nodeID, id])
    }

    /// Begins a new command epoch (once per control-plane start) and returns it: a random,
    /// positive 63-bit number from the system CSPRNG.
    public func beginCommandEpoch(now: Int64) async throws -> Int64 {
        try await writer.write { db in
            var generator = SystemRandomNumberGenerator()
            func taken(_ epoch: Int64) throws -> Bool {
                try epoch == 0
                    || Bool.fetchOne(db, sql: "SELECT 1 FROM command_epochs WHERE epoch = ?", arguments: [epoch]) != nil
            }
            var epoch: Int64 = 0
            while try taken(epoch) { epoch = Int64(bitPattern: generator.next() >> 1) }
            try db.execute(
                sql: "INSERT INTO command_epochs (epoch, first_id, started_at) VALUES (?, ?, ?)",
                arguments: [epoch, try Self.lastCommandID(db) + 1, now]
            )
            return epoch
        }
    }

    /// The highest command id this database has issued (AUTOINCREMENT's high-water mark).
    static func lastCommandID(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'node_commands'") ?? 0
    }
}

extension BerthDatabase {
    /// Deletes commands acknowledged before `cutoff` (microseconds) and returns how many,
    /// so the outbox holds only what is in flight. Ids are AUTOINCREMENT and never reused:
    /// a command queued after the purge still gets an id above every node's high-water mark.
    @discardableResult
    public func purgeAcknowledgedCommands(before cutoff: Int64) async throws -> Int {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM node_commands WHERE acked_at IS NOT NULL AND acked_at < ?", arguments: [cutoff])
            return db.changesCount
        }
    }

    /// Adds a command to a node's outbox and returns it with its id.
    public func queueCommand(_ command: NodeCommandRow) async throws -> NodeCommandRow {
        try await writer.write { db in
            var command = command
            try command.insert(db)
            return command
        }
    }
}
