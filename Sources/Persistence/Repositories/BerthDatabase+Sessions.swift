extension BerthDatabase {
    /// A change to the stored sessions, applied in order with others in one transaction.
    public enum SessionChange: Sendable, Equatable {
        case insert(SessionRow)
        case delete(id: String)
        /// Every session that expired before this wall-clock time (microseconds).
        case purge(before: Int64)
    }

    /// Applies `changes` in order, in one transaction.
    public func applySessionChanges(_ changes: [SessionChange]) async throws {
        guard !changes.isEmpty else { return }
        try await engine.write { db in
            for change in changes {
                switch change {
                case .insert(let row):
                    // An id is random (128 bits); a second insert of one is a retried batch.
                    try db.executeLater("DELETE FROM sessions WHERE id = ?", [.text(row.id)])
                    try db.insert(row)
                case .delete(let id):
                    try db.executeLater("DELETE FROM sessions WHERE id = ?", [.text(id)])
                case .purge(let before):
                    try db.executeLater("DELETE FROM sessions WHERE expires_at <= ?", [.integer(before)])
                }
            }
        }
    }

    /// The sessions that have not expired at `now` (wall-clock microseconds).
    public func liveSessions(now: Int64) async throws -> [SessionRow] {
        try await engine.read { db in try db.fetch(SessionRow.self, "WHERE expires_at > ?", [.integer(now)]) }
    }
}
