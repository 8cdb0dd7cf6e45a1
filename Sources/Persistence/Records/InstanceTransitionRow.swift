import GRDB

/// A row of `instance_transitions`: one step of an instance's state history.
public struct InstanceTransitionRow: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "instance_transitions"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var instanceId: String
    public var state: String
    public var message: String
    public var ts: Int64

    public init(instanceId: String, state: String, message: String = "", ts: Int64) {
        self.instanceId = instanceId
        self.state = state
        self.message = message
        self.ts = ts
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
