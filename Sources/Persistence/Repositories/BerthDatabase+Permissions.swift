import GRDB

extension BerthDatabase {
    /// Every permission group with its resource grants, by name.
    public func permissionGroups() async throws -> [(group: PermissionGroupRow, resources: [PermissionResourceRow])] {
        try await writer.read { db in
            let groups = try PermissionGroupRow.order(Column("name")).fetchAll(db)
            let resources = try PermissionResourceRow.order(Column("type"), Column("resource_id")).fetchAll(db)
            let byGroup = Dictionary(grouping: resources, by: \.groupName)
            return groups.map { ($0, byGroup[$0.name] ?? []) }
        }
    }

    /// Stores a new group. Throws ``PersistenceError/Code/conflict`` if the name is taken.
    public func insertPermissionGroup(_ group: PermissionGroupRow) async throws {
        try await writer.write { db in
            if try PermissionGroupRow.exists(db, key: group.name) {
                throw PersistenceError(.conflict, "permission group \(group.name) already exists")
            }
            try group.insert(db)
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
        try await writer.write { db in
            let existing = try PermissionGroupRow.fetchOne(db, key: name)
            guard var group = existing ?? (createIfMissing ? PermissionGroupRow(name: name, createdAt: now) : nil)
            else {
                throw PersistenceError(.notFound, "No such permission group \(name)")
            }
            if let description { group.description = description }
            if let permissions { group.permissions = permissions.joined(separator: "\n") }
            try group.save(db)
        }
    }

    /// Deletes a group and its resource grants. Throws ``PersistenceError/Code/notFound``.
    public func deletePermissionGroup(name: String) async throws {
        try await writer.write { db in
            guard try PermissionGroupRow.deleteOne(db, key: name) else {
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
        try await writer.write { db in
            if try !PermissionGroupRow.exists(db, key: groupName) {
                try PermissionGroupRow(name: groupName, createdAt: now).insert(db)
            }
            for row in rows {
                if row.permissions.isEmpty {
                    _ = try PermissionResourceRow.deleteOne(
                        db,
                        key: ["group_name": groupName, "type": row.type, "resource_id": row.resourceId]
                    )
                } else {
                    try row.save(db)
                }
            }
        }
    }
}
