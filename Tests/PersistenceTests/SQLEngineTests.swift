import BerthTestSupport
import Foundation
import Logging
import Persistence
import PostgresNIO
import Testing

/// The SQL both engines run for the repositories: the same statements, the same values
/// back, the same transactions; on a real SQLite file and a real PostgreSQL server.
@Suite struct SQLEngineTests {
    static let logger = TestLogging.logger("sql")

    /// Statements and answers that must be the same on both engines.
    static func exercise(_ engine: any SQLEngine) async throws {
        let blob = engine.dialect == .sqlite ? "BLOB" : "BYTEA"
        try await engine.write { db in
            try db.execute(
                """
                CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL, x DOUBLE PRECISION,
                    note TEXT, data \(blob), seq BIGINT)
                """,
                []
            )
        }
        let bytes: [UInt8] = [0, 1, 2, 255, 0x3f]
        let changed = try await engine.write { db in
            // A `?` inside quotes is text, not a placeholder.
            try db.execute(
                "INSERT INTO things (id, n, x, note, data) VALUES (?, ?, ?, '?-' || ?, ?)",
                [.text("a"), .integer(Int64.max), .real(2.5), .text("why"), .blob(bytes)]
            )
                + db.execute(
                    "INSERT INTO things (id, n, x, note, data) VALUES (?, ?, ?, ?, ?)",
                    [.text("b"), .integer(-7), .null, .null, .blob([])]
                )
        }
        #expect(changed == 2)
        let rows = try await engine.read { db in try db.rows("SELECT id, n, x, note, data FROM things ORDER BY id", []) }
        #expect(rows.map(\.values) == [
            [.text("a"), .integer(Int64.max), .real(2.5), .text("?-why"), .blob(bytes)],
            [.text("b"), .integer(-7), .null, .null, .blob([])],
        ])
        #expect(rows[0]["note"] == .text("?-why") && rows[1]["nope"] == .null)

        // Upserts, RETURNING, counts and aggregates spelled once for both.
        let upserted = try await engine.write { db in
            try db.execute("INSERT INTO things (id, n) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", [.text("a"), .integer(1)])
        }
        #expect(upserted == 0)
        let returned = try await engine.write { db in
            try db.rows(
                "INSERT INTO things (id, n) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET n = excluded.n + 1 RETURNING n",
                [.text("b"), .integer(10)]
            )
        }
        #expect(returned.first?[0] == .integer(11))
        let (count, sum) = try await engine.read { db in
            let row = try #require(try db.row("SELECT COUNT(*), SUM(n) FROM things WHERE id <> ?", [.text("a")]))
            return (row[0], row[1])
        }
        #expect(count == .integer(1) && sum == .integer(11))
        let greatest = try await engine.read { db in
            try db.value("SELECT \(db.dialect.greatest)(n, ?) FROM things WHERE id = ?", [.integer(50), .text("b")])
        }
        #expect(greatest == .integer(50))

        // A transaction that throws leaves nothing behind.
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await engine.write { db in
                try db.execute("INSERT INTO things (id, n) VALUES (?, ?)", [.text("c"), .integer(3)])
                throw Refused()
            }
        }
        #expect(try await engine.read { db in try db.value("SELECT COUNT(*) FROM things", []) } == .integer(2))
        // So does one whose statement fails, and the engine goes on.
        await #expect(throws: (any Error).self) {
            try await engine.write { db in
                try db.execute("INSERT INTO things (id, n) VALUES (?, ?)", [.text("d"), .integer(4)])
                try db.execute("INSERT INTO things (id, n) VALUES (?, ?)", [.text("a"), .integer(4)])
            }
        }
        #expect(try await engine.read { db in try db.value("SELECT COUNT(*) FROM things", []) } == .integer(2))
    }

    @Test func onSQLite() async throws {
        let path = TestPaths.temporaryDirectory("sql").appendingPathComponent("berth.sqlite").path
        try await Self.exercise(try BerthDatabase(path: path).engine)
    }

    @Test func onPostgreSQL() async throws {
        try #require(TestPostgres.isAvailable, "needs PostgreSQL (apt-get install postgresql) and root for runuser")
        try await TestPostgres.with { cluster in try await Self.onPostgreSQL(cluster) }
    }

    static func onPostgreSQL(_ cluster: TestPostgres) async throws {
        let engine = PostgresEngine(location: try PostgresLocation(url: cluster.url), logger: Self.logger)
        try await Self.exercise(engine)

        // With a fencing epoch, writes need the lease to still be at that epoch.
        let lease = LeaderLease(engine: engine)
        try await lease.prepare()
        let epoch = try #require(try await lease.acquire(holder: "cp-a", address: "a", ttl: 30))
        engine.fence(epoch: epoch)
        try await engine.write { db in try db.execute("INSERT INTO things (id, n) VALUES ('fenced-ok', 1)", []) }
        try await lease.release(holder: "cp-a", epoch: epoch)
        #expect(try await lease.acquire(holder: "cp-b", address: "b", ttl: 30) == epoch + 1)
        let refused = await #expect(throws: PersistenceError.self) {
            try await engine.write { db in try db.execute("INSERT INTO things (id, n) VALUES ('late', 1)", []) }
        }
        #expect(refused?.code == .fenced)
        #expect(try await cluster.psql("SELECT string_agg(id, ',' ORDER BY id) FROM things") == "a,b,fenced-ok")
        await engine.close()
    }
}
