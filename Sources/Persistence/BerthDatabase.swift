import Foundation
import GRDB

/// Berth's SQLite database: the only place that speaks SQL.
///
/// Opens the file in WAL mode with one writer (GRDB's `DatabasePool`) and runs the
/// migrations in ``Schema``. Every method that changes state commits before it returns,
/// so a caller that acknowledges after `await` never acknowledges something a crash
/// could lose. Repositories are extensions of this type, one file per concept.
public final class BerthDatabase: Sendable {
    let writer: any DatabaseWriter
    /// The database file.
    public let path: String

    /// Opens (or creates) the database at `path`.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        // synchronous stays FULL (SQLite's default): a commit survives power loss, not
        // only a process crash. Throughput comes from batching rows per transaction.
        let pool = try DatabasePool(path: path, configuration: config)
        try Schema.migrator.migrate(pool)
        self.writer = pool
    }

    /// The current time in microseconds since the Unix epoch, the unit of every timestamp column.
    public static func nowMicros() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// Runs arbitrary read-only SQL; for tests and diagnostics.
    public func count(table: String) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.replacingOccurrences(of: "\"", with: ""))") ?? 0
        }
    }

    /// The journal mode in force (expected: `wal`).
    public func journalMode() async throws -> String {
        try await writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }
}
