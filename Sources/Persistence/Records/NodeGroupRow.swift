import GRDB

/// A row of `node_groups`: a named set of nodes, with an optional fallback group.
public struct NodeGroupRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "node_groups"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: String
    public var name: String
    public var description: String
    public var fallbackGroupId: String?
    public var createdAt: Int64

    public init(id: String, name: String, description: String, fallbackGroupId: String?, createdAt: Int64) {
        self.id = id
        self.name = name
        self.description = description
        self.fallbackGroupId = fallbackGroupId
        self.createdAt = createdAt
    }
}

extension NodeGroupRow: SQLRecord {
    public static var tableName: String { databaseTableName }
}
