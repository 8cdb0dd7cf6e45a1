import GRDB

/// A row of `distributions`: one request to pre-load a template version on nodes.
public struct DistributionRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "distributions"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: String
    public var templateId: String
    public var tag: String
    public var requestedAt: Int64
    public var cancelled: Bool = false

    public init(id: String, templateId: String, tag: String, requestedAt: Int64) {
        self.id = id
        self.templateId = templateId
        self.tag = tag
        self.requestedAt = requestedAt
    }
}

/// A row of `distribution_nodes`: one node's part of a distribution.
public struct DistributionNodeRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "distribution_nodes"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var distributionId: String
    public var nodeId: String
    public var progress: Double = 0
    public var done: Bool = false
    public var error: String = ""
    public var bytesFetched: Int64 = 0

    public init(distributionId: String, nodeId: String) {
        self.distributionId = distributionId
        self.nodeId = nodeId
    }
}

extension DistributionRow: SQLRecord {
    public static var tableName: String { databaseTableName }
}

extension DistributionNodeRow: SQLRecord {
    public static var tableName: String { databaseTableName }
    public static var primaryKey: [String] { ["distribution_id", "node_id"] }
}
