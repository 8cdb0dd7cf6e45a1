import GRDB

extension BerthDatabase {
    public func insertDistribution(_ distribution: DistributionRow, nodes: [DistributionNodeRow]) async throws {
        try await writer.write { db in
            try distribution.insert(db)
            for node in nodes { try node.insert(db) }
        }
    }

    /// One distribution (`id` set) or all, newest first, each with its nodes.
    public func distributions(id: String) async throws -> [(DistributionRow, [DistributionNodeRow])] {
        try await writer.read { db in
            var request = DistributionRow.order(Column("requested_at").desc)
            if !id.isEmpty { request = request.filter(Column("id") == id) }
            let rows = try request.fetchAll(db)
            let nodes = Dictionary(
                grouping: try DistributionNodeRow.filter(rows.map(\.id).contains(Column("distribution_id")))
                    .order(Column("node_id")).fetchAll(db),
                by: \.distributionId
            )
            return rows.map { ($0, nodes[$0.id] ?? []) }
        }
    }

    /// Saves one node's progress (ignored once the distribution is cancelled or the node done).
    public func updateDistributionNode(_ node: DistributionNodeRow) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE distribution_nodes SET progress = ?, done = ?, error = ?, bytes_fetched = ?
                    WHERE distribution_id = ? AND node_id = ? AND done = 0 AND error = ''
                    """,
                arguments: [node.progress, node.done, node.error, node.bytesFetched, node.distributionId, node.nodeId]
            )
        }
    }

    /// Marks done the node's unfinished pulls of versions it holds
    /// (``StoredChange/templatesHeld(nodeID:versions:)``). Most hellos find none pending, so
    /// the read (by the partial index on pending rows) comes first.
    static func completeDistributions(_ db: Database, nodeID: String, held: Set<TemplateVersionKey>) throws {
        guard !held.isEmpty else { return }
        let pending = try Row.fetchAll(
            db,
            sql: """
                SELECT dn.distribution_id, d.template_id, d.tag FROM distribution_nodes dn
                JOIN distributions d ON d.id = dn.distribution_id
                WHERE dn.node_id = ? AND dn.done = 0 AND dn.error = '' AND d.cancelled = 0
                """,
            arguments: [nodeID]
        )
        for row in pending where held.contains(TemplateVersionKey(templateID: row["template_id"], tag: row["tag"])) {
            try db.execute(
                sql: """
                    UPDATE distribution_nodes SET done = 1, progress = 1
                    WHERE distribution_id = ? AND node_id = ? AND done = 0 AND error = ''
                    """,
                arguments: [row["distribution_id"] as String, nodeID]
            )
        }
    }

    /// Marks a distribution cancelled; returns the nodes still pulling (now marked `cancelled`).
    public func cancelDistribution(id: String) async throws -> [String] {
        try await writer.write { db in
            guard var row = try DistributionRow.fetchOne(db, key: id) else {
                throw PersistenceError(.notFound, "No such distribution request \(id)")
            }
            row.cancelled = true
            try row.update(db)
            let pending = try String.fetchAll(
                db,
                sql: "SELECT node_id FROM distribution_nodes WHERE distribution_id = ? AND done = 0 AND error = ''",
                arguments: [id]
            )
            try db.execute(
                sql:
                    "UPDATE distribution_nodes SET error = 'cancelled' WHERE distribution_id = ? AND done = 0 AND error = ''",
                arguments: [id]
            )
            return pending
        }
    }

    public func insertImageRequest(_ request: ImageRequestRow) async throws {
        try await writer.write { db in try request.insert(db) }
    }

    public func updateImageRequest(_ request: ImageRequestRow) async throws {
        try await writer.write { db in try request.update(db) }
    }

    /// One save-image request (`id` set) or all, newest first.
    public func imageRequests(id: String) async throws -> [ImageRequestRow] {
        try await writer.read { db in
            var request = ImageRequestRow.order(Column("created_at").desc)
            if !id.isEmpty { request = request.filter(Column("id") == id) }
            return try request.fetchAll(db)
        }
    }

    /// The pending save-image request of an instance, if any.
    public func pendingImageRequest(instanceID: String) async throws -> ImageRequestRow? {
        try await writer.read { db in
            try ImageRequestRow.filter(Column("instance_id") == instanceID && Column("status") == "pending")
                .fetchOne(db)
        }
    }
}

extension BerthDatabase {
    /// SQLite's plan for a query (`EXPLAIN QUERY PLAN`), one step per line: for tests that
    /// a lookup uses its index.
    package func explain(_ sql: String) async throws -> String {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: "\n")
        }
    }
}
