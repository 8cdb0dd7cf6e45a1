import Foundation

/// `berth-backup/manifest.json`, the last entry of a backup archive: an archive without it
/// was cut short. It says what the archive holds, so a restore can check it all arrived.
public struct BackupManifest: Codable, Sendable, Equatable {
    /// The archive layout's version; a restore refuses one it does not know.
    public var format: Int
    /// When the database snapshot was taken (seconds since 1970).
    public var createdAt: Double
    /// The database's applied migrations, in order.
    public var migrations: [String]
    /// SHA-256 (hex) of `berth.sqlite` in the archive.
    public var databaseSHA256: String
    /// Rows in the snapshot: nodes, instances, templates, template_versions.
    public var counts: [String: Int]
    /// Chunk files in the archive, and their bytes.
    public var chunks: Int
    public var chunkBytes: Int64
    /// Files of `pki/` in the archive.
    public var pkiFiles: [String]

    public static let currentFormat = 1
    /// The directory every entry of the archive sits in.
    public static let root = "berth-backup"

    enum CodingKeys: String, CodingKey {
        case format
        case createdAt = "created_at"
        case migrations
        case databaseSHA256 = "database_sha256"
        case counts
        case chunks
        case chunkBytes = "chunk_bytes"
        case pkiFiles = "pki_files"
    }
}
