import GRDB

/// A row of `templates`.
public struct TemplateRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "templates"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: String
    public var name: String
    public var arch: String
    public var description: String = ""
    public var cpuCores: Int
    public var ramMb: Int
    public var createdAt: Int64

    public init(id: String, name: String, arch: String, cpuCores: Int, ramMb: Int, createdAt: Int64) {
        self.id = id
        self.name = name
        self.arch = arch
        self.cpuCores = cpuCores
        self.ramMb = ramMb
        self.createdAt = createdAt
    }
}

extension TemplateRow: SQLRecord {
    public static var tableName: String { databaseTableName }
}
