extension BerthDatabase {
    /// Every group, by name.
    public func groups() async throws -> [NodeGroupRow] {
        try await engine.read { db in try db.fetch(NodeGroupRow.self, "ORDER BY name") }
    }

    public func group(id: String) async throws -> NodeGroupRow? {
        try await engine.read { db in try db.fetch(NodeGroupRow.self, key: .text(id)) }
    }

    /// Inserts a new group (`creating`) or updates an existing one, never one for the other:
    /// a new id that is already taken throws ``PersistenceError/Code/conflict`` rather than
    /// overwrite, and an update of a group deleted meanwhile throws
    /// ``PersistenceError/Code/notFound`` rather than bring it back. A taken name is a
    /// `conflict` too, and a missing fallback group `notFound`.
    public func saveGroup(_ group: NodeGroupRow, creating: Bool) async throws {
        try await engine.write { db in
            if let taken = try db.fetch(NodeGroupRow.self, "WHERE name = ? AND id <> ?", [.text(group.name), .text(group.id)])
                .first
            {
                throw PersistenceError(.conflict, "a group named \(taken.name) already exists (\(taken.id))")
            }
            if let fallback = group.fallbackGroupId, try !db.exists(NodeGroupRow.self, key: .text(fallback)) {
                throw PersistenceError(.notFound, "no group with id \(fallback)")
            }
            if creating {
                guard try !db.exists(NodeGroupRow.self, key: .text(group.id)) else {
                    throw PersistenceError(.conflict, "a group with id \(group.id) already exists")
                }
                try db.insert(group)
            } else {
                guard try db.update(group) else {
                    throw PersistenceError(.notFound, "no group with id \(group.id)")
                }
            }
        }
    }

    /// Deletes a group; memberships go with it and groups falling back to it lose their fallback.
    public func deleteGroup(id: String) async throws {
        try await engine.write { db in
            guard try db.delete(NodeGroupRow.self, key: .text(id)) else {
                throw PersistenceError(.notFound, "no group with id \(id)")
            }
        }
    }

    /// Group ids of every node that belongs to one.
    public func groupMemberships() async throws -> [String: Set<String>] {
        let rows = try await engine.read { db in try db.rows("SELECT node_id, group_id FROM node_group_members", []) }
        var result: [String: Set<String>] = [:]
        for row in rows {
            guard let node = row[0].string, let group = row[1].string else { continue }
            result[node, default: []].insert(group)
        }
        return result
    }

    /// Adds (or removes) every node to (or from) every group, atomically.
    /// Throws ``PersistenceError/Code/notFound`` naming the first unknown id.
    public func setMembership(nodeIDs: [String], groupIDs: [String], member: Bool) async throws {
        try await engine.write { db in
            for id in nodeIDs where try !db.exists(NodeRow.self, key: .text(id)) {
                throw PersistenceError(.notFound, "no node with id \(id)")
            }
            for id in groupIDs where try !db.exists(NodeGroupRow.self, key: .text(id)) {
                throw PersistenceError(.notFound, "no group with id \(id)")
            }
            try Self.setMembership(db, nodeIDs: nodeIDs, groupIDs: groupIDs, member: member)
        }
    }

    /// Adds or removes memberships; pairs whose node or group does not exist are skipped
    /// (``StoredChange/membership(nodeIDs:groupIDs:member:)``).
    static func setMembership(_ db: any SQLTransaction, nodeIDs: [String], groupIDs: [String], member: Bool) throws {
        for node in nodeIDs {
            for group in groupIDs {
                if member {
                    try db.execute(
                        """
                        INSERT INTO node_group_members (node_id, group_id)
                        SELECT ?, ? WHERE EXISTS (SELECT 1 FROM nodes WHERE id = ?)
                        AND EXISTS (SELECT 1 FROM node_groups WHERE id = ?)
                        ON CONFLICT DO NOTHING
                        """,
                        [.text(node), .text(group), .text(node), .text(group)]
                    )
                } else {
                    try db.execute(
                        "DELETE FROM node_group_members WHERE node_id = ? AND group_id = ?",
                        [.text(node), .text(group)]
                    )
                }
            }
        }
    }
}
