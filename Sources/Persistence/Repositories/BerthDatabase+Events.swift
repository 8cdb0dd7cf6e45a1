extension BerthDatabase {
    /// Appends events in one transaction and returns them with their ids.
    ///
    /// Multi-row `INSERT … RETURNING id` with the columns listed, not the record's
    /// `Codable` route: every instance state change is an event.
    @discardableResult
    public func appendEvents(_ events: [EventLogRow]) async throws -> [EventLogRow] {
        guard !events.isEmpty else { return [] }
        return try await engine.write { db in
            var stored = events
            try Self.append(db, &stored)
            return stored
        }
    }

    /// Appends one event in the caller's transaction and sets its id.
    static func append(_ db: any SQLTransaction, _ event: inout EventLogRow) throws {
        var one = [event]
        try append(db, &one)
        event = one[0]
    }

    /// Appends events in the caller's transaction and sets their ids: up to 500 rows per
    /// INSERT. Ids are given in the order of the VALUES (one writer, one statement), while
    /// RETURNING's order is not promised: sorted, they are the rows' ids in order.
    static func append(_ db: any SQLTransaction, _ events: inout [EventLogRow]) throws {
        for start in stride(from: 0, to: events.count, by: 500) {
            let range = start..<min(start + 500, events.count)
            var arguments: [SQLValue] = []
            arguments.reserveCapacity(range.count * 5)
            for event in events[range] {
                arguments += [
                    .integer(event.ts), .text(event.kind), .text(event.subject), .text(event.message), .text(event.actor),
                ]
            }
            let ids = try db.values(
                "INSERT INTO event_log (ts, kind, subject, message, actor) VALUES "
                    + Array(repeating: "(?, ?, ?, ?, ?)", count: range.count).joined(separator: ", ")
                    + " RETURNING id",
                arguments
            ).compactMap(\.int64).sorted()
            guard ids.count == range.count else {
                throw PersistenceError(.conflict, "event_log returned \(ids.count) ids for \(range.count) rows")
            }
            for (index, id) in zip(range, ids) { events[index].id = id }
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
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let afterID {
            conditions.append("id > ?")
            arguments.append(.integer(afterID))
        }
        if let beforeID {
            conditions.append("id < ?")
            arguments.append(.integer(beforeID))
        }
        if !kindPrefix.isEmpty {
            // A prefix, matched literally: `substr` rather than LIKE, whose `%` and `_` a
            // kind could contain, and whose case rules differ between the engines.
            conditions.append("substr(kind, 1, CAST(? AS INTEGER)) = ?")
            arguments += [SQLValue(kindPrefix.unicodeScalars.count), .text(kindPrefix)]
        }
        if !subject.isEmpty {
            conditions.append("subject = ?")
            arguments.append(.text(subject))
        }
        let clause =
            (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            + (afterID != nil ? " ORDER BY id" : " ORDER BY id DESC") + " LIMIT ?"
        arguments.append(SQLValue(limit))
        let query = (clause, arguments)
        return try await engine.read { db in try db.fetch(EventLogRow.self, query.0, query.1) }
    }

    /// The newest event id, 0 when there is none.
    public func lastEventID() async throws -> Int64 {
        try await engine.read { db in try db.value("SELECT MAX(id) FROM event_log").int64 ?? 0 }
    }

    /// Deletes events older than `cutoff` (microseconds). Returns how many.
    @discardableResult
    public func purgeEvents(before cutoff: Int64) async throws -> Int {
        try await engine.write { db in try db.execute("DELETE FROM event_log WHERE ts < ?", [.integer(cutoff)]) }
    }
}
