import GRDB

/// A row of `image_requests`: one save-image request (Anka `POST /api/v1/image`).
public struct ImageRequestRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "image_requests"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: String
    public var instanceId: String
    public var nodeId: String
    /// `pending`, `done` or `error`.
    public var status: String
    /// The request as the control plane received it (wire-encoded, opaque here).
    public var request: [UInt8]
    public var templateId: String = ""
    public var error: String = ""
    /// The script's result (wire-encoded, opaque here).
    public var scriptResult: [UInt8]?
    public var bytesUploaded: Int64 = 0
    public var createdAt: Int64

    public init(id: String, instanceId: String, nodeId: String, status: String, request: [UInt8], createdAt: Int64) {
        self.id = id
        self.instanceId = instanceId
        self.nodeId = nodeId
        self.status = status
        self.request = request
        self.createdAt = createdAt
    }
}

extension ImageRequestRow: SQLRecord {
    public static var tableName: String { databaseTableName }
}
