import Foundation
import GRDB

/// A row of `template_files`: one file of a template version, as its chunk hashes.
public struct TemplateFileRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "template_files"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var templateId: String
    public var number: Int
    /// Order of the file within the version.
    public var ordinal: Int
    public var path: String
    public var size: Int64
    public var chunkSize: Int
    /// 32-byte SHA-256 hashes, concatenated.
    public var chunks: Data

    public init(templateId: String, number: Int, ordinal: Int, path: String, size: Int64, chunkSize: Int, chunks: Data)
    {
        self.templateId = templateId
        self.number = number
        self.ordinal = ordinal
        self.path = path
        self.size = size
        self.chunkSize = chunkSize
        self.chunks = chunks
    }
}

extension TemplateFileRow: SQLRecord {
    public static var tableName: String { databaseTableName }
    public static var primaryKey: [String] { ["template_id", "number", "path"] }
}
