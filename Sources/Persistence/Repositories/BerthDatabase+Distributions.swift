import GRDB

extension BerthDatabase {
    public func insertDistribution(_ distribution: DistributionRow, nodes: [DistributionNodeRow]) async throws {
        try await engine.write { db in
            try db.insert(distribution)
            for node in nodes { try db.insert(node) }
        }
    }

    /// One distribution (`id` set) or all, newest first, each with its nodes.
    public func distributions(id: String) async throws -> [(DistributionRow, [DistributionNodeRow])] {
        let (rows, nodeRows) = try await engine.read { db in
            let rows =
                id.isEmpty
                ? try db.fetch(DistributionRow.self, "ORDER BY requested_at DESC")
                : try db.fetch(DistributionRow.self, "WHERE id = ?", [.text(id)])
            let nodes =
                id.isEmpty
                ? try db.fetch(DistributionNodeRow.self, "ORDER BY node_id")
                : try db.fetch(DistributionNodeRow.self, "WHERE distribution_id = ? ORDER BY node_id", [.text(id)])
            return (rows, nodes)
        }
        let nodes = Dictionary(grouping: nodeRows, by: \.distributionId)
        return rows.map { ($0, nodes[$0.id] ?? []) }
    }

    /// Saves one node's progress (ignored once the distribution is cancelled or the node done).
    public func updateDistributionNode(_ node: DistributionNodeRow) async throws {
        try await engine.write { db in
            try db.execute(
                """
                UPDATE distribution_nodes SET progress = ?, done = ?, error = ?, bytes_fetched = ?
                WHERE distribution_id = ? AND node_id = ? AND done = 0 AND error = ''
                """,
                [
                    .real(node.progress), SQLValue(node.done), .text(node.error), .integer(node.bytesFetched),
                    .text(node.distributionId), .text(node.nodeId),
                ]
            )
        }
    }

    /// Marks done the node's unfinished pulls of versions it holds
    /// (``StoredChange/templatesHeld(nodeID:versions:)``). Most hellos find none pending, so
    /// the read (by the partial index on pending rows) comes first.
    static func completeDistributions(_ db: any SQLTransaction, nodeID: String, held: Set<TemplateVersionKey>) throws {
        guard !held.isEmpty else { return }
        let pending = try db.rows(
            """
            SELECT dn.distribution_id, d.template_id, d.tag FROM distribution_nodes dn
            JOIN distributions d ON d.id = dn.distribution_id
            WHERE dn.node_id = ? AND dn.done = 0 AND dn.error = '' AND d.cancelled = 0
            """,
            [.text(nodeID)]
        )
        for row in pending
        where held.contains(TemplateVersionKey(templateID: row[1].string ?? "", tag: row[2].string ?? "")) {
            try db.execute(
                """
                UPDATE distribution_nodes SET done = 1, progress = 1
                WHERE distribution_id = ? AND node_id = ? AND done = 0 AND error = ''
                """,
                [row[0], .text(nodeID)]
            )
        }
    }

    /// Marks a distribution cancelled; returns the nodes still pulling (now marked `cancelled`).
    public func cancelDistribution(id: String) async throws -> [String] {
        try await engine.write { db in
            guard var row = try db.fetch(DistributionRow.self, key: .text(id)) else {
                throw PersistenceError(.notFound, "No such distribution request \(id)")
            }
            row.cancelled = true
            try db.update(row)
            let pending = try db.values(
                "SELECT node_id FROM distribution_nodes WHERE distribution_id = ? AND done = 0 AND error = ''",
                [.text(id)]
            ).compactMap(\.string)
            try db.execute(
                "UPDATE distribution_nodes SET error = 'cancelled' WHERE distribution_id = ? AND done = 0 AND error = ''",
                [.text(id)]
            )
            return pending
        }
    }

    public func insertImageRequest(_ request: ImageRequestRow) async throws {
        try await engine.write { db in try db.insert(request) }
    }

    public func updateImageRequest(_ request: ImageRequestRow) async throws {
        try await engine.write { db in try db.update(request) }
    }

    /// One save-image request (`id` set) or all, newest first.
    public func imageRequests(id: String) async throws -> [ImageRequestRow] {
        try await engine.read { db in
            id.isEmpty
                ? try db.fetch(ImageRequestRow.self, "ORDER BY created_at DESC")
                : try db.fetch(ImageRequestRow.self, "WHERE id = ?", [.text(id)])
        }
    }

    /// The pending save-image request of an instance, if any.
    public func pendingImageRequest(instanceID: String) async throws -> ImageRequestRow? {
        try await engine.read { db in
            try db.fetch(ImageRequestRow.self, "WHERE instance_id = ? AND status = 'pending' LIMIT 1", [.text(instanceID)])
                .first
        }
    }
}

extension BerthDatabase {
    /// SQLite's plan for a query (`EXPLAIN QUERY PLAN`), one step per line: for tests that
    /// a lookup uses its index.
    package func explain(_ sql: String) async throws -> String {
        try await (try writer).read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: "\n")
        }
    }
}
