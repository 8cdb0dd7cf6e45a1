import GRDB

extension BerthDatabase {
    /// Stores a new key. Throws ``PersistenceError/Code/conflict`` if the id is taken.
    public func insertAPIKey(_ key: APIKeyRow) async throws {
        try await writer.write { db in
            if try APIKeyRow.exists(db, key: key.id) {
                throw PersistenceError(.conflict, "a key with id \(key.id) already exists")
            }
            try key.insert(db)
        }
    }

    public func apiKey(id: String) async throws -> APIKeyRow? {
        try await writer.read { db in try APIKeyRow.fetchOne(db, key: id) }
    }

    public func apiKeys() async throws -> [APIKeyRow] {
        try await writer.read { db in try APIKeyRow.order(Column("id")).fetchAll(db) }
    }

    /// Replaces a key's groups and, when given, its expiry. Throws ``PersistenceError/Code/notFound``.
    public func updateAPIKey(id: String, groups: [String], expiresAt: Int64?) async throws {
        try await writer.write { db in
            guard var key = try APIKeyRow.fetchOne(db, key: id) else {
                throw PersistenceError(.notFound, "no key with id \(id)")
            }
            key.groups = groups.joined(separator: "\n")
            if let expiresAt { key.expiresAt = expiresAt }
            try key.update(db)
        }
    }

    /// Deletes a key. Throws ``PersistenceError/Code/notFound``.
    public func deleteAPIKey(id: String) async throws {
        try await writer.write { db in
            guard try APIKeyRow.deleteOne(db, key: id) else {
                throw PersistenceError(.notFound, "no key with id \(id)")
            }
        }
    }
}
