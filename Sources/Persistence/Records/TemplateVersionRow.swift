import GRDB

/// A row of `template_versions`: one tagged version of a template.
public struct TemplateVersionRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "template_versions"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var templateId: String
    public var number: Int
    public var tag: String
    public var size: Int64
    public var createdAt: Int64
    public var description: String = ""
    /// Seconds since the epoch a node last fetched this version's manifest; 0 when never.
    public var lastPull: Int64 = 0
    /// Seconds since the epoch the version was pushed; 0 for seeded versions.
    public var lastPush: Int64 = 0

    public init(
        templateId: String,
        number: Int,
        tag: String,
        size: Int64,
        createdAt: Int64,
        description: String = "",
        lastPush: Int64 = 0
    ) {
        self.templateId = templateId
        self.number = number
        self.tag = tag
        self.size = size
        self.createdAt = createdAt
        self.description = description
        self.lastPush = lastPush
    }
}

extension TemplateVersionRow: SQLRecord {
    public static var tableName: String { databaseTableName }
    public static var primaryKey: [String] { ["template_id", "number"] }
}
