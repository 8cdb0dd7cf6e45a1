import Foundation
import GRDB

/// Berth's database, on SQLite (the embedded default) or PostgreSQL: the only place that
/// speaks SQL.
///
/// Repositories are extensions of this type, one file per concept, written once against
/// ``SQLEngine``. Every method that changes state commits before it returns, so a caller
/// that acknowledges after `await` never acknowledges something a crash could lose.
///
/// On SQLite it opens the file in WAL mode with one writer (GRDB's `DatabasePool`) and runs
/// the migrations in ``Schema``; on PostgreSQL the engine is given, and
/// ``PostgresSchema`` migrates it. Backups, checkpoints and size limits are SQLite's alone.
public final class BerthDatabase: Sendable {
    /// The engine every repository's transactions run on.
    public let engine: any SQLEngine
    /// SQLite's writer; `nil` on PostgreSQL.
    private let sqliteWriter: (any DatabaseWriter)?
    /// A connection of its own for WAL checkpoints (``checkpoint()``), so that copying the
    /// log into the database file never happens inside a commit that a caller waits for.
    private let checkpointer: DatabaseQueue?
    /// The SQLite file; on PostgreSQL, its location without the password.
    public let path: String

    /// SQLite's writer, for what only SQLite does; throws on PostgreSQL.
    var writer: any DatabaseWriter {
        get throws {
            guard let sqliteWriter else {
                throw PersistenceError(.unavailable, "this is SQLite's alone; the database is PostgreSQL")
            }
            return sqliteWriter
        }
    }

    /// Whether the database is an SQLite file (not PostgreSQL).
    public var isSQLite: Bool { sqliteWriter != nil }

    /// Opens a PostgreSQL database and runs its migrations (``PostgresSchema``).
    public init(postgres engine: PostgresEngine) async throws {
        _ = try await PostgresSchema.migrate(engine)
        self.engine = engine
        self.sqliteWriter = nil
        self.checkpointer = nil
        self.path = engine.location.description
    }

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
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // SQLite checkpoints in the commit that takes the log past this many pages:
            // that commit (and every caller behind it) then waits for the copy and an fsync
            // of the database file. ``checkpoint()`` does that work in the background; this
            // larger limit is the safety net should it not run (a tool, a test).
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.autocheckpointPages)")
        }
        try Schema.migrator.migrate(pool)
        self.sqliteWriter = pool
        self.engine = SQLiteEngine(writer: pool)
        var checkpointing = Configuration()
        checkpointing.busyMode = .timeout(10)
        // A checkpoint syncs the database file before the log can be reused (SQLite does so
        // unless `synchronous` is OFF); said here rather than left to the default.
        checkpointing.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        checkpointer = try DatabaseQueue(path: path, configuration: checkpointing)
    }

    /// The writer's `wal_autocheckpoint`, in pages (4 KiB each).
    public static let autocheckpointPages = 8192

    /// Copies what the write-ahead log holds into the database file (SQLite's `PASSIVE`
    /// checkpoint: it waits for no reader and no writer), on its own connection. Returns
    /// the log's size and how much of it was copied, in pages.
    @discardableResult
    public func checkpoint() async throws -> (logPages: Int, copiedPages: Int) {
        guard let checkpointer else { return (0, 0) }
        return try await checkpointer.writeWithoutTransaction { db in
            let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
            return (row?[1] ?? 0, row?[2] ?? 0)
        }
    }

    /// The writer's `wal_autocheckpoint` setting, in pages.
    public func writerAutocheckpoint() async throws -> Int {
        try await writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? -1 }
    }

    /// The current time in microseconds since the Unix epoch, the unit of every timestamp column.
    public static func nowMicros() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// The rows of one table; for tests and diagnostics.
    public func count(table: String) async throws -> Int {
        let table = table.replacingOccurrences(of: "\"", with: "")
        return try await engine.read { db in try db.value("SELECT COUNT(*) FROM \"\(table)\"").int ?? 0 }
    }

    /// Writes a consistent copy of the whole database to a new file at `path` (SQLite's
    /// online backup; writers wait only for the copy's steps).
    public func backup(to path: String) async throws {
        let writer = try self.writer
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
