extension BerthDatabase {
    /// Stores a new key. Throws ``PersistenceError/Code/conflict`` if the id is taken.
    public func insertAPIKey(_ key: APIKeyRow) async throws {
        try await engine.write { db in
            if try db.exists(APIKeyRow.self, key: .text(key.id)) {
                throw PersistenceError(.conflict, "a key with id \(key.id) already exists")
            }
            try db.insert(key)
        }
    }

    public func apiKey(id: String) async throws -> APIKeyRow? {
        try await engine.read { db in try db.fetch(APIKeyRow.self, key: .text(id)) }
    }

    public func apiKeys() async throws -> [APIKeyRow] {
        try await engine.read { db in try db.fetch(APIKeyRow.self, "ORDER BY id") }
    }

    /// Replaces a key's groups and, when given, its expiry. Throws ``PersistenceError/Code/notFound``.
    public func updateAPIKey(id: String, groups: [String], expiresAt: Int64?) async throws {
        try await engine.write { db in
            guard var key = try db.fetch(APIKeyRow.self, key: .text(id)) else {
                throw PersistenceError(.notFound, "no key with id \(id)")
            }
            key.groups = groups.joined(separator: "\n")
            if let expiresAt { key.expiresAt = expiresAt }
            try db.update(key)
        }
    }

    /// Deletes a key and its stored sessions. Throws ``PersistenceError/Code/notFound``.
    public func deleteAPIKey(id: String) async throws {
        try await engine.write { db in
            guard try db.delete(APIKeyRow.self, key: .text(id)) else {
                throw PersistenceError(.notFound, "no key with id \(id)")
            }
            try db.executeLater("DELETE FROM sessions WHERE key_id = ?", [.text(id)])
        }
    }
}
