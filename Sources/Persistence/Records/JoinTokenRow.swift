import GRDB

/// A row of `join_tokens`. Only a hash of the secret is stored.
public struct JoinTokenRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "join_tokens"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: String
    public var secretHash: [UInt8]
    public var description: String
    public var createdAt: Int64
    public var expiresAt: Int64
    public var usedAt: Int64?
    public var usedBy: String?

    public init(id: String, secretHash: [UInt8], description: String, createdAt: Int64, expiresAt: Int64) {
        self.id = id
        self.secretHash = secretHash
        self.description = description
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
