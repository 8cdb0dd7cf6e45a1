import GRDB

extension BerthDatabase {
    /// Every group, by name.
    public func groups() async throws -> [NodeGroupRow] {
        try await writer.read { db in try NodeGroupRow.order(Column("name")).fetchAll(db) }
    }

    public func group(id: String) async throws -> NodeGroupRow? {
        try await writer.read { db in try NodeGroupRow.fetchOne(db, key: id) }
    }

    /// Inserts a new group (`creating`) or updates an existing one, never one for the other:
    /// a new id that is already taken throws ``PersistenceError/Code/conflict`` rather than
    /// overwrite, and an update of a group deleted meanwhile throws
    /// ``PersistenceError/Code/notFound`` rather than bring it back. A taken name is a
    /// `conflict` too, and a missing fallback group `notFound`.
    public func saveGroup(_ group: NodeGroupRow, creating: Bool) async throws {
        try await writer.write { db in
            if let taken = try NodeGroupRow.filter(Column("name") == group.name && Column("id") != group.id).fetchOne(
                db
            ) {
                throw PersistenceError(.conflict, "a group named \(taken.name) already exists (\(taken.id))")
            }
            if let fallback = group.fallbackGroupId, try !NodeGroupRow.exists(db, key: fallback) {
                throw PersistenceError(.notFound, "no group with id \(fallback)")
            }
            if creating {
                guard try !NodeGroupRow.exists(db, key: group.id) else {
                    throw PersistenceError(.conflict, "a group with id \(group.id) already exists")
                }
                try group.insert(db)
            } else {
                guard try NodeGroupRow.exists(db, key: group.id) else {
                    throw PersistenceError(.notFound, "no group with id \(group.id)")
                }
                try group.update(db)
            }
        }
    }

    /// Deletes a group; memberships go with it and groups falling back to it lose their fallback.
    public func deleteGroup(id: String) async throws {
        try await writer.write { db in
            guard try NodeGroupRow.deleteOne(db, key: id) else {
                throw PersistenceError(.notFound, "no group with id \(id)")
            }
        }
    }

    /// Group ids of every node that belongs to one.
    public func groupMemberships() async throws -> [String: Set<String>] {
        try await writer.read { db in
            var result: [String: Set<String>] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT node_id, group_id FROM node_group_members") {
                result[row["node_id"], default: []].insert(row["group_id"])
            }
            return result
        }
    }

    /// Adds (or removes) every node to (or from) every group, atomically.
    /// Throws ``PersistenceError/Code/notFound`` naming the first unknown id.
    public func setMembership(nodeIDs: [String], groupIDs: [String], member: Bool) async throws {
        try await writer.write { db in
            for id in nodeIDs where try !NodeRow.exists(db, key: id) {
                throw PersistenceError(.notFound, "no node with id \(id)")
            }
            for id in groupIDs where try !NodeGroupRow.exists(db, key: id) {
                throw PersistenceError(.notFound, "no group with id \(id)")
            }
            try Self.setMembership(db, nodeIDs: nodeIDs, groupIDs: groupIDs, member: member)
        }
    }

    /// Adds or removes memberships; pairs whose node or group does not exist are skipped
    /// (``StoredChange/membership(nodeIDs:groupIDs:member:)``).
    static func setMembership(_ db: Database, nodeIDs: [String], groupIDs: [String], member: Bool) throws {
        for node in nodeIDs {
            for group in groupIDs {
                if member {
                    try db.execute(
                        sql: """
                            INSERT OR IGNORE INTO node_group_members (node_id, group_id)
                            SELECT ?, ? WHERE EXISTS (SELECT 1 FROM nodes WHERE id = ?)
                            AND EXISTS (SELECT 1 FROM node_groups WHERE id = ?)
                            """,
                        arguments: [node, group, node, group]
                    )
                } else {
                    try db.execute(
                        sql: "DELETE FROM node_group_members WHERE node_id = ? AND group_id = ?",
                        arguments: [node, group]
                    )
                }
            }
        }
    }
}
