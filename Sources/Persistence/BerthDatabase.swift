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
        let pool = try DatabasePool(path: path, configuration: config)
        // FULL: a commit survives power loss, not only a process crash. GRDB's WAL set-up
        // sets NORMAL on the writer after `Configuration.prepareDatabase` has run, so it is
        // set here, on the pool's one writer connection, which lives as long as the pool.
        // Throughput comes from batching rows per transaction, not from weaker syncs.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
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

    /// Writes a consistent copy of the whole database to a new file at `path` (SQLite's
    /// online backup; writers wait only for the copy's steps).
    public func backup(to path: String) async throws {
        let destination = try DatabaseQueue(path: path)
        try writer.backup(to: destination)
        try destination.close()
    }

    /// The distinct SQLite storage classes (`typeof`) of one column's values; for tests and
    /// diagnostics.
    public func storageClasses(table: String, column: String) async throws -> Set<String> {
        let table = table.replacingOccurrences(of: "\"", with: "")
        let column = column.replacingOccurrences(of: "\"", with: "")
        return try await writer.read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT typeof(\"\(column)\") FROM \"\(table)\""))
        }
    }

    /// The writer connection's `synchronous` setting (expected: 2, FULL).
    public func writerSynchronous() async throws -> Int {
        try await writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The journal mode in force (expected: `wal`).
    public func journalMode() async throws -> String {
        try await writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }
}
