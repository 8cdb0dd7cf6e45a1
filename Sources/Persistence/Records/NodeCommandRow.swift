import GRDB

/// A row of `node_commands`: the outbox of commands to nodes.
///
/// `(epoch, id)` is the command's idempotency key: ids grow within one database's history,
/// and the epoch names the control-plane start that issued it, so that a database restored
/// from a backup (whose ids go back) never issues a key a node has already applied. A
/// command is sent (and re-sent after each reconnect) until the node acknowledges it;
/// `acked_at` then records when. Acknowledged rows are purged.
public struct NodeCommandRow: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "node_commands"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    /// The control-plane epoch that issued it; stamped on insert (the newest epoch).
    public var epoch: Int64 = 0
    public var nodeId: String
    public var instanceId: String
    /// `start`, `stop`, `terminate`, `restart`.
    public var kind: String
    /// Command-specific data, wire-encoded by the control plane (opaque here).
    public var payload: [UInt8]?
    public var createdAt: Int64
    public var ackedAt: Int64?

    public init(nodeId: String, instanceId: String, kind: String, payload: [UInt8]?, createdAt: Int64) {
        self.nodeId = nodeId
        self.instanceId = instanceId
        self.kind = kind
        self.payload = payload
        self.createdAt = createdAt
    }

    /// Stamps the newest epoch on a command that has none (the fleet sets its own).
    public mutating func willInsert(_ db: Database) throws {
        guard epoch == 0 else { return }
        epoch = try Int64.fetchOne(db.cachedStatement(sql: "SELECT epoch FROM command_epochs ORDER BY seq DESC LIMIT 1")) ?? 0
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// Written column by column, like ``InstanceTransitionRow``: one is journaled per command.
extension NodeCommandRow {
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["epoch"] = epoch
        container["node_id"] = nodeId
        container["instance_id"] = instanceId
        container["kind"] = kind
        container["payload"] = payload
        container["created_at"] = createdAt
        container["acked_at"] = ackedAt
    }
}

extension NodeCommandRow {
    /// Inserts a command the fleet numbered (its `id` and `epoch` set) with one `INSERT`:
    /// every placement journals one. One not numbered is stamped with the newest epoch and
    /// takes the next id; returns the id either way.
    @discardableResult
    public func insertNumbered(_ db: any SQLTransaction) throws -> Int64 {
        let arguments: [SQLValue] = [
            .text(nodeId), .text(instanceId), .text(kind), SQLValue(payload), .integer(createdAt), SQLValue(ackedAt),
        ]
        guard let id, epoch != 0 else {
            let epoch =
                epoch != 0
                ? epoch : try db.value("SELECT epoch FROM command_epochs ORDER BY seq DESC LIMIT 1").int64 ?? 0
            return try db.value(
                """
                INSERT INTO node_commands (epoch, node_id, instance_id, kind, payload, created_at, acked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id
                """,
                [.integer(epoch)] + arguments
            ).int64 ?? 0
        }
        try db.executeLater(
            """
            INSERT INTO node_commands (id, epoch, node_id, instance_id, kind, payload, created_at, acked_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.integer(id), .integer(epoch)] + arguments
        )
        return id
    }
}
extension NodeCommandRow: SQLRecord {
    public static var tableName: String { databaseTableName }
}
