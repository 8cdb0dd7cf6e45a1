import GRDB

extension BerthDatabase {
    /// Appends events in one transaction and returns them with their ids.
    ///
    /// One cached `INSERT` per event, not GRDB's record `insert` (its `Encodable` route and
    /// SQL built per row): every instance state change is an event.
    @discardableResult
    public func appendEvents(_ events: [EventLogRow]) async throws -> [EventLogRow] {
        guard !events.isEmpty else { return [] }
        return try await writer.write { db in
            var stored = events
            let insert = try db.cachedStatement(
                sql: "INSERT INTO event_log (id, ts, kind, subject, message, actor) VALUES (?, ?, ?, ?, ?, ?)"
            )
            for index in stored.indices {
                let event = stored[index]
                try insert.execute(arguments: [event.id, event.ts, event.kind, event.subject, event.message, event.actor])
                stored[index].id = db.lastInsertedRowID
            }
            return stored
        }
    }

    /// Events matching the filters. With `afterID`, the oldest first (for tailing and
    /// delivery); otherwise the newest first, below `beforeID` when given.
    public func events(
        afterID: Int64? = nil,
        beforeID: Int64? = nil,
        kindPrefix: String = "",
        subject: String = "",
        limit: Int = 100
    ) async throws -> [EventLogRow] {
        try await writer.read { db in
            var request = EventLogRow.all()
            if let afterID { request = request.filter(Column("id") > afterID) }
            if let beforeID { request = request.filter(Column("id") < beforeID) }
            if !kindPrefix.isEmpty { request = request.filter(Column("kind").like("\(kindPrefix)%")) }
            if !subject.isEmpty { request = request.filter(Column("subject") == subject) }
            request = afterID != nil ? request.order(Column("id")) : request.order(Column("id").desc)
            return try request.limit(limit).fetchAll(db)
        }
    }

    /// The newest event id, 0 when there is none.
    public func lastEventID() async throws -> Int64 {
        try await writer.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM event_log") ?? 0 }
    }

    /// Deletes events older than `cutoff` (microseconds). Returns how many.
    @discardableResult
    public func purgeEvents(before cutoff: Int64) async throws -> Int {
        try await writer.write { db in try EventLogRow.filter(Column("ts") < cutoff).deleteAll(db) }
    }

    public func setting(_ key: String) async throws -> String? {
        try await writer.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key])
        }
    }

    public func setSetting(_ key: String, _ value: String) async throws {
        try await writer.write { db in
            try db.execute(
                sql:
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [key, value]
            )
        }
    }
}
