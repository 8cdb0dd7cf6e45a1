extension BerthDatabase {
    /// Every permission group with its resource grants, by name.
    public func permissionGroups() async throws -> [(group: PermissionGroupRow, resources: [PermissionResourceRow])] {
        let (groups, resources) = try await engine.read { db in
            (
                try db.fetch(PermissionGroupRow.self, "ORDER BY name"),
                try db.fetch(PermissionResourceRow.self, "ORDER BY type, resource_id")
            )
        }
        let byGroup = Dictionary(grouping: resources, by: \.groupName)
        return groups.map { ($0, byGroup[$0.name] ?? []) }
    }

    /// Stores a new group. Throws ``PersistenceError/Code/conflict`` if the name is taken.
    public func insertPermissionGroup(_ group: PermissionGroupRow) async throws {
        try await engine.write { db in
            if try db.exists(PermissionGroupRow.self, key: .text(group.name)) {
                throw PersistenceError(.conflict, "permission group \(group.name) already exists")
            }
            try db.insert(group)
        }
    }

    /// Changes a group's description and/or controller permissions. Throws ``PersistenceError/Code/notFound``
    /// unless `createIfMissing`.
    public func updatePermissionGroup(
        name: String,
        description: String?,
        permissions: [String]?,
        createIfMissing: Bool = false,
        now: Int64
    ) async throws {
        try await engine.write { db in
            let existing = try db.fetch(PermissionGroupRow.self, key: .text(name))
            guard var group = existing ?? (createIfMissing ? PermissionGroupRow(name: name, createdAt: now) : nil)
            else {
                throw PersistenceError(.notFound, "No such permission group \(name)")
            }
            if let description { group.description = description }
            if let permissions { group.permissions = permissions.joined(separator: "\n") }
            try db.save(group)
        }
    }

    /// Deletes a group and its resource grants. Throws ``PersistenceError/Code/notFound``.
    public func deletePermissionGroup(name: String) async throws {
        try await engine.write { db in
            guard try db.delete(PermissionGroupRow.self, key: .text(name)) else {
                throw PersistenceError(.notFound, "No such permission group \(name)")
            }
        }
    }

    /// Sets the permissions a group has on each listed resource, in one transaction.
    ///
    /// A listed resource's grant is replaced; an empty permission list removes it; resources
    /// not listed keep theirs. The group is created first if it does not exist, so grants can
    /// be set for a group name that so far only appears on credentials.
    public func setPermissionResources(groupName: String, _ rows: [PermissionResourceRow], now: Int64) async throws {
        try await engine.write { db in
            if try !db.exists(PermissionGroupRow.self, key: .text(groupName)) {
                try db.insert(PermissionGroupRow(name: groupName, createdAt: now))
            }
            for row in rows {
                if row.permissions.isEmpty {
                    try db.execute(
                        "DELETE FROM permission_resources WHERE group_name = ? AND type = ? AND resource_id = ?",
                        [.text(groupName), .text(row.type), .text(row.resourceId)]
                    )
                } else {
                    try db.save(row)
                }
            }
        }
    }
}
