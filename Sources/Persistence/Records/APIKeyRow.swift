import GRDB

/// A row of `api_keys`: a UAK's public key, permission groups and lifetime.
public struct APIKeyRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "api_keys"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: String
    public var publicKey: [UInt8]
    /// Group names joined by newlines (names cannot contain one).
    public var groups: String
    public var createdAt: Int64
    public var expiresAt: Int64

    public init(id: String, publicKey: [UInt8], groups: [String], createdAt: Int64, expiresAt: Int64) {
        self.id = id
        self.publicKey = publicKey
        self.groups = groups.joined(separator: "\n")
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public var groupNames: [String] { groups.isEmpty ? [] : groups.components(separatedBy: "\n") }
}

extension APIKeyRow: SQLRecord {
    public static var tableName: String { databaseTableName }
}
