import Foundation
import GRDB

/// A consistent copy of a Berth database that another process may be serving, and what the
/// copy holds: the tools behind `berth backup` and `berth restore`.
///
/// The copy uses SQLite's online backup API from a read-only connection in one step. In WAL
/// mode that is one read transaction: the control plane keeps committing while it runs and
/// the copy is the database as of the moment it began.
public enum DatabaseSnapshot {
    /// What a snapshot holds, for the archive's manifest and for copying chunks beside it.
    public struct Contents: Sendable {
        /// Applied migrations, in order.
        public var migrations: [String]
        /// Chunks some template version refers to: an archive without one of them is broken.
        public var referencedChunks: Set<[UInt8]>
        /// Every chunk the database records (referenced or from a push still in progress).
        public var recordedChunks: [[UInt8]]
        /// Rows per table of interest: nodes, instances, templates, template_versions.
        public var counts: [String: Int]
    }

    /// Copies the database at `source` into a new file at `destination` (which must not exist).
    public static func copy(databaseAt source: String, to destination: String) throws {
        guard FileManager.default.fileExists(atPath: source) else {
            throw PersistenceError(.notFound, "no database at \(source)")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw PersistenceError(.conflict, "\(destination) already exists")
        }
        let reader = try DatabaseQueue(path: source, configuration: readOnly)
        let target = try DatabaseQueue(path: destination)
        try reader.backup(to: target)
        try target.close()
        try reader.close()
    }

    /// Reads what the (unserved) database at `path` holds.
    public static func contents(ofDatabaseAt path: String) throws -> Contents {
        let reader = try DatabaseQueue(path: path, configuration: readOnly)
        defer { try? reader.close() }
        return try reader.read { db in
            let referenced = try BerthDatabase.referencedChunks(SQLiteTransaction(db: db))
            let recorded = try Data.fetchAll(db, sql: "SELECT hash FROM chunks").map { [UInt8]($0) }
            var counts: [String: Int] = [:]
            for table in ["nodes", "instances", "templates", "template_versions"] {
                counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return Contents(
                migrations: try Schema.migrator.appliedIdentifiers(db).sorted { lhs, rhs in
                    (Self.knownOrder[lhs] ?? .max, lhs) < (Self.knownOrder[rhs] ?? .max, rhs)
                },
                referencedChunks: referenced,
                recordedChunks: recorded,
                counts: counts
            )
        }
    }

    /// Migrations the database at `path` has applied that this build does not know: a file
    /// written by a newer Berth, which this one must not open.
    public static func unknownMigrations(databaseAt path: String) throws -> [String] {
        let reader = try DatabaseQueue(path: path, configuration: readOnly)
        defer { try? reader.close() }
        let applied = try reader.read { db in try Schema.migrator.appliedIdentifiers(db) }
        return applied.filter { knownOrder[$0] == nil }.sorted()
    }

    /// This build's migrations and their order.
    static let knownOrder: [String: Int] = Dictionary(
        uniqueKeysWithValues: Schema.migrator.migrations.enumerated().map { ($1, $0) }
    )

    private static var readOnly: Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        return configuration
    }
}
