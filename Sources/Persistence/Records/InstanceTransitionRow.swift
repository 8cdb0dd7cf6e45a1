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

/// Written column by column: a transition is journaled with every state change, and
/// GRDB's `Encodable` route (a keyed encoder and a snake-case conversion per column) cost
/// more than the insert. `StorageFormatTests` holds every property to its column.
extension InstanceTransitionRow {
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["instance_id"] = instanceId
        container["state"] = state
        container["message"] = message
        container["ts"] = ts
    }
}

extension InstanceTransitionRow {
    /// Appends the transition with one `INSERT`, sent ahead (its `id` is assigned by the
    /// database and not read back): every start journals three of them.
    public func append(_ db: any SQLTransaction) throws {
        try db.executeLater(
            "INSERT INTO instance_transitions (instance_id, state, message, ts) VALUES (?, ?, ?, ?)",
            [.text(instanceId), .text(state), .text(message), .integer(ts)]
        )
    }
}

extension InstanceTransitionRow: SQLRecord {
    public static var tableName: String { databaseTableName }
}
