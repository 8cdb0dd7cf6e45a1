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
    /// Who minted it, as the audit log names callers (`root`, `key:ci`, `cli` for a local
    /// `berth token create`).
    public var createdBy: String
    public var revokedAt: Int64?

    public init(
        id: String,
        secretHash: [UInt8],
        description: String,
        createdAt: Int64,
        expiresAt: Int64,
        createdBy: String = ""
    ) {
        self.id = id
        self.secretHash = secretHash
        self.description = description
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.createdBy = createdBy
    }

    /// Where the token stands at `now` (microseconds): `used`, `revoked`, `expired` or `usable`.
    public func state(now: Int64) -> String {
        if usedAt != nil { return "used" }
        if revokedAt != nil { return "revoked" }
        return expiresAt > now ? "usable" : "expired"
    }
}

extension JoinTokenRow: SQLRecord {
    public static var tableName: String { databaseTableName }
}
