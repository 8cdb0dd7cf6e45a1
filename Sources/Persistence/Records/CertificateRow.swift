import GRDB

/// A row of `certificates`: every certificate the CA issued, and whether it is revoked.
public struct CertificateRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "certificates"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var serial: String
    public var role: String
    public var subjectId: String
    public var issuedAt: Int64
    public var expiresAt: Int64
    public var revokedAt: Int64?
    public var revokeReason: String?

    public init(serial: String, role: String, subjectId: String, issuedAt: Int64, expiresAt: Int64) {
        self.serial = serial
        self.role = role
        self.subjectId = subjectId
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}

extension CertificateRow: SQLRecord {
    public static var tableName: String { databaseTableName }
    public static var primaryKey: [String] { ["serial"] }
}
