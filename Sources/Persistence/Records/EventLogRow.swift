import GRDB

/// A row of `event_log`: one controller action.
public struct EventLogRow: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "event_log"

    public var id: Int64?
    public var ts: Int64
    public var kind: String
    public var subject: String
    public var message: String
    public var actor: String

    public init(ts: Int64, kind: String, subject: String, message: String, actor: String = "") {
        self.ts = ts
        self.kind = kind
        self.subject = subject
        self.message = message
        self.actor = actor
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

extension EventLogRow: SQLRecord {
    public static var tableName: String { databaseTableName }
    public static var snakeCaseColumns: Bool { false }
}
