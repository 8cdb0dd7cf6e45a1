import GRDB

/// A row of `node_commands`: the outbox of commands to nodes.
///
/// The id is the command's idempotency key. A command is sent (and re-sent after each
/// reconnect) until the node acknowledges it; `acked_at` then records when.
public struct NodeCommandRow: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "node_commands"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
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

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
