import GRDB

/// A row of `permission_resources`: what one permission group may do to one node or template.
public struct PermissionResourceRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "permission_resources"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var groupName: String
    /// `node` or `template`.
    public var type: String
    public var resourceId: String
    public var idType: String
    /// Resource permission names joined by newlines.
    public var permissions: String

    public init(groupName: String, type: String, resourceId: String, idType: String = "id", permissions: [String]) {
        self.groupName = groupName
        self.type = type
        self.resourceId = resourceId
        self.idType = idType
        self.permissions = permissions.joined(separator: "\n")
    }

    public var permissionNames: [String] { permissions.isEmpty ? [] : permissions.components(separatedBy: "\n") }
}

extension PermissionResourceRow: SQLRecord {
    public static var tableName: String { databaseTableName }
    public static var primaryKey: [String] { ["group_name", "type", "resource_id"] }
}
