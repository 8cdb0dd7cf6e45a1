extension BerthDatabase {
    /// Commands a node has not acknowledged yet, oldest first.
    public func pendingCommands(nodeID: String) async throws -> [NodeCommandRow] {
        try await engine.read { db in
            try db.fetch(NodeCommandRow.self, "WHERE node_id = ? AND acked_at IS NULL ORDER BY id", [.text(nodeID)])
        }
    }

    /// Every command not acknowledged yet, in id order (the fleet's outbox, at start).
    public func pendingCommands() async throws -> [NodeCommandRow] {
        try await engine.read { db in try db.fetch(NodeCommandRow.self, "WHERE acked_at IS NULL ORDER BY id") }
    }

    /// The command epochs in the order they began, each with the first id it issued, and
    /// the highest id this database has issued.
    public func commandHistory() async throws -> (epochs: [(epoch: Int64, firstID: Int64)], lastID: Int64) {
        try await engine.read { db in
            let epochs = try db.rows("SELECT epoch, first_id FROM command_epochs ORDER BY seq", []).map {
                (epoch: $0[0].int64 ?? 0, firstID: $0[1].int64 ?? 0)
            }
            return (epochs, try Self.lastCommandID(db))
        }
    }

    /// Marks one command acknowledged. Returns `false` if it was already (a duplicate ack).
    @discardableResult
    public func acknowledgeCommand(id: Int64, nodeID: String, now: Int64) async throws -> Bool {
        try await engine.write { db in try Self.acknowledge(db, id: id, nodeID: nodeID, now: now) }
    }

    /// Marks one command acknowledged; `false` if it was already.
    static func acknowledge(_ db: any SQLTransaction, id: Int64, nodeID: String, now: Int64) throws -> Bool {
        try db.execute(acknowledgeSQL, [.integer(now), .integer(id), .text(nodeID)]) > 0
    }

    /// Marks one command acknowledged: `acked_at`, `id`, `node_id`.
    static let acknowledgeSQL = "UPDATE node_commands SET acked_at = ? WHERE id = ? AND node_id = ? AND acked_at IS NULL"

    /// Marks every command up to `id` acknowledged (a node's hello says it applied them).
    public func acknowledgeCommands(upTo id: Int64, nodeID: String, now: Int64) async throws {
        try await engine.write { db in try Self.acknowledge(db, upTo: id, nodeID: nodeID, now: now) }
    }

    /// Marks a node's unacknowledged commands up to `id` acknowledged.
    static func acknowledge(_ db: any SQLTransaction, upTo id: Int64, nodeID: String, now: Int64) throws {
        try db.executeLater(
            "UPDATE node_commands SET acked_at = ? WHERE node_id = ? AND id <= ? AND acked_at IS NULL",
            [.integer(now), .text(nodeID), .integer(id)]
        )
    }

    /// Begins a new command epoch (once per control-plane start) and returns it: a random,
    /// positive 63-bit number from the system CSPRNG.
    public func beginCommandEpoch(now: Int64) async throws -> Int64 {
        try await engine.write { db in
            var generator = SystemRandomNumberGenerator()
            func taken(_ epoch: Int64) throws -> Bool {
                try epoch == 0 || db.exists("SELECT 1 FROM command_epochs WHERE epoch = ?", [.integer(epoch)])
            }
            var epoch: Int64 = 0
            while try taken(epoch) { epoch = Int64(bitPattern: generator.next() >> 1) }
            try db.execute(
                "INSERT INTO command_epochs (epoch, first_id, started_at) VALUES (?, ?, ?)",
                [.integer(epoch), .integer(try Self.lastCommandID(db) + 1), .integer(now)]
            )
            return epoch
        }
    }

    /// The highest command id this database has issued: SQLite's AUTOINCREMENT high-water
    /// mark, or the identity sequence's last value on PostgreSQL (which
    /// ``advanceCommandSequence(_:past:)`` keeps past the ids the fleet numbers itself).
    static func lastCommandID(_ db: any SQLTransaction) throws -> Int64 {
        switch db.dialect {
        case .sqlite:
            try db.value("SELECT seq FROM sqlite_sequence WHERE name = 'node_commands'").int64 ?? 0
        case .postgres:
            try db.value("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM node_commands_id_seq").int64 ?? 0
        }
    }

    /// On PostgreSQL, moves the command id sequence past `id`: an explicit id does not
    /// advance an identity sequence, as it does SQLite's AUTOINCREMENT mark, so without this
    /// a command queued outside the fleet (or the next start) could be given an id in use.
    static func advanceCommandSequence(_ db: any SQLTransaction, past id: Int64) throws {
        guard db.dialect == .postgres, id > 0 else { return }
        try db.execute(
            """
            SELECT setval('node_commands_id_seq', GREATEST(?,
                (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM node_commands_id_seq)))
            """,
            [.integer(id)]
        )
    }
}

extension BerthDatabase {
    /// Deletes commands acknowledged before `cutoff` (microseconds) and returns how many,
    /// so the outbox holds only what is in flight. Ids are never reused (SQLite's
    /// AUTOINCREMENT, PostgreSQL's sequence): a command queued after the purge still gets an
    /// id above every node's high-water mark.
    @discardableResult
    public func purgeAcknowledgedCommands(before cutoff: Int64) async throws -> Int {
        try await engine.write { db in
            try db.execute(
                "DELETE FROM node_commands WHERE acked_at IS NOT NULL AND acked_at < ?",
                [.integer(cutoff)]
            )
        }
    }

    /// Adds a command to a node's outbox and returns it with its id.
    public func queueCommand(_ command: NodeCommandRow) async throws -> NodeCommandRow {
        try await engine.write { db in
            var command = command
            command.id = try command.insertNumbered(db)
            try Self.advanceCommandSequence(db, past: command.id ?? 0)
            if command.epoch == 0 {
                command.epoch = try db.value("SELECT epoch FROM node_commands WHERE id = ?", [SQLValue(command.id)]).int64 ?? 0
            }
            return command
        }
    }
}
