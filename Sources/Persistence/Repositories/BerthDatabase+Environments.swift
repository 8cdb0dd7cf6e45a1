extension BerthDatabase {
    /// Every environment, oldest first (ended ones until they are purged with their members).
    public func environments() async throws -> [EnvironmentRow] {
        try await engine.read { db in try db.fetch(EnvironmentRow.self, "ORDER BY created_at, id") }
    }

    /// Stores a new environment; `conflict` if one with its id exists.
    public func insertEnvironment(_ environment: EnvironmentRow) async throws {
        try await engine.write { db in
            if try db.fetch(EnvironmentRow.self, key: .text(environment.id)) != nil {
                throw PersistenceError(.conflict, "environment \(environment.id) exists")
            }
            try db.insert(environment)
        }
    }
}
