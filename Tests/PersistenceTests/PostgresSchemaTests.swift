import BerthTestSupport
import Foundation
import Persistence
import Testing

/// The PostgreSQL migrations build SQLite's schema: the same tables, columns, NOT NULLs,
/// defaults and indexes, so that one SQL text serves both engines.
@Suite struct PostgresSchemaTests {
    struct Column: Hashable, CustomStringConvertible {
        var table: String
        var name: String
        var notNull: Bool
        var hasDefault: Bool
        var description: String { "\(table).\(name)\(notNull ? " NOT NULL" : "")\(hasDefault ? " DEFAULT" : "")" }
    }

    static func sqliteSchema() async throws -> (columns: Set<Column>, indexes: Set<String>) {
        let path = TestPaths.temporaryDirectory("schema").appendingPathComponent("berth.sqlite").path
        let engine = try BerthDatabase(path: path).engine
        return try await engine.read { db in
            let tables = try db.rows(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'",
                []
            ).compactMap { $0[0].string }
            var columns = Set<Column>()
            for table in tables {
                for row in try db.rows("PRAGMA table_info(\(table))", []) {
                    columns.insert(
                        Column(
                            table: table,
                            name: row["name"].string ?? "",
                            notNull: row["notnull"] != .integer(0) || row["pk"] != .integer(0),
                            hasDefault: !row["dflt_value"].isNull
                        )
                    )
                }
            }
            let indexes = try db.rows("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL", [])
                .compactMap { $0[0].string }
            return (columns, Set(indexes))
        }
    }

    static func postgresSchema(_ engine: PostgresEngine) async throws -> (columns: Set<Column>, indexes: Set<String>) {
        try await engine.read { db in
            let columns = try db.rows(
                """
                SELECT table_name::text, column_name::text, is_nullable::text, column_default IS NOT NULL
                FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name NOT IN ('schema_migrations', 'leader_lease')
                """,
                []
            ).map { row in
                Column(
                    table: row[0].string ?? "",
                    name: row[1].string ?? "",
                    notNull: row[2].string == "NO",
                    hasDefault: row[3] == .integer(1)
                )
            }
            let indexes = try db.rows(
                """
                SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'
                AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'
                """,
                []
            ).compactMap { $0[0].string }
            return (Set(columns), Set(indexes))
        }
    }

    @Test func theMigrationsBuildSQLitesSchemaOnceEvenFromTwoReplicasAtOnce() async throws {
        try #require(TestPostgres.isAvailable, "needs PostgreSQL (apt-get install postgresql) and root for runuser")
        try await TestPostgres.with { cluster in
            let location = try PostgresLocation(url: cluster.url)
            let a = PostgresEngine(location: location, logger: TestLogging.logger("schema"))
            let b = PostgresEngine(location: location, logger: TestLogging.logger("schema"))
            // Two replicas starting together: every step runs once, in one of them.
            async let first = PostgresSchema.migrate(a)
            async let second = PostgresSchema.migrate(b)
            let (ranA, ranB) = try await (first, second)
            #expect(PostgresSchema.stepNames == PostgresSchema.sqliteMigrationNames)
            #expect(ranA.count + ranB.count == PostgresSchema.stepNames.count)
            #expect(Set(ranA).isDisjoint(with: Set(ranB)))
            #expect(try await PostgresSchema.migrate(a).isEmpty)

            let sqlite = try await Self.sqliteSchema()
            let postgres = try await Self.postgresSchema(a)
            #expect(sqlite.columns.count > 150 && Set(sqlite.columns.map(\.table)).count == 26, "\(sqlite.columns.count)")
            #expect(sqlite.indexes.count >= 12, "\(sqlite.indexes.sorted())")
            #expect(postgres.columns.subtracting(sqlite.columns).map(\.description).sorted() == [])
            #expect(sqlite.columns.subtracting(postgres.columns).map(\.description).sorted() == [])
            #expect(postgres.indexes == sqlite.indexes)

            // A step this build does not know (a newer Berth migrated the database) is refused.
            try await cluster.psql("INSERT INTO schema_migrations VALUES ('v99-from-the-future', 0)")
            let refused = await #expect(throws: PersistenceError.self) { try await PostgresSchema.migrate(b) }
            #expect(refused?.reason.contains("v99-from-the-future") == true)
            await a.close()
            await b.close()
        }
    }
}
