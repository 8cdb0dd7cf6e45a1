import GRDB

/// A row of `permission_groups`: a named set of controller permissions.
public struct PermissionGroupRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "permission_groups"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var name: String
    public var description: String
    /// Controller permission names joined by newlines.
    public var permissions: String
    public var createdAt: Int64

    public init(name: String, description: String = "", permissions: [String] = [], createdAt: Int64) {
        self.name = name
        self.description = description
        self.permissions = permissions.joined(separator: "\n")
        self.createdAt = createdAt
    }

    public var permissionNames: [String] { permissions.isEmpty ? [] : permissions.components(separatedBy: "\n") }
}

extension PermissionGroupRow: SQLRecord {
    public static var tableName: String { databaseTableName }
    public static var primaryKey: [String] { ["name"] }
}
