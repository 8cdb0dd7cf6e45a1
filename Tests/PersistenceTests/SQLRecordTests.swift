import BerthTestSupport
import Foundation
import Persistence
import Testing

/// Records through their Codable conformance on both engines, and the same columns and
/// values as GRDB's records, so that existing SQLite files read the same through the facade.
@Suite struct SQLRecordTests {
    static func token(_ id: String) -> JoinTokenRow {
        JoinTokenRow(
            id: id,
            secretHash: [0, 7, 255, 3],
            description: "rack 4",
            createdAt: 1_700_000_000_000_000,
            expiresAt: 1_700_000_360_000_000,
            createdBy: "root"
        )
    }

    static func used(_ id: String) -> JoinTokenRow {
        var token = token(id)
        token.usedAt = 5
        token.usedBy = "n1"
        return token
    }

    @Test func recordsWrittenByGRDBReadTheSameThroughTheFacadeAndBack() async throws {
        let path = TestPaths.temporaryDirectory("records").appendingPathComponent("berth.sqlite").path
        let database = try BerthDatabase(path: path)
        var node = NodeRow(id: "n1", name: "mini-1", createdAt: 42)
        node.templates = [1, 2, 3]
        node.drainMode = true
        node.cpuUtil = 0.5
        node.ipAddress = "10.0.0.7"
        node.maxVmCount = 4
        try await database.saveNode(node)
        let engine = database.engine
        let read = try await engine.read { db in try db.fetch(NodeRow.self, key: .text("n1")) }
        #expect(read == node)

        // Written through the facade, read by GRDB.
        try await engine.write { db in try db.insert(Self.token("abcdef")) }
        #expect(try await database.joinToken(id: "abcdef") == Self.token("abcdef"))
        let used = Self.used("abcdef")
        #expect(try await engine.write { db in try db.update(used) })
        #expect(try await database.joinToken(id: "abcdef") == used)
        #expect(try await engine.write { db in try db.update(Self.token("nosuch")) } == false)
    }

    @Test func recordsRoundTripOnPostgreSQL() async throws {
        try #require(TestPostgres.isAvailable, "needs PostgreSQL (apt-get install postgresql) and root for runuser")
        try await TestPostgres.with { cluster in
            let engine = PostgresEngine(location: try PostgresLocation(url: cluster.url), logger: TestLogging.logger("records"))
            try await engine.write { db in
                try db.execute(
                    """
                    CREATE TABLE join_tokens (id TEXT PRIMARY KEY, secret_hash BYTEA NOT NULL,
                        description TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
                        used_at BIGINT, used_by TEXT, created_by TEXT NOT NULL DEFAULT '', revoked_at BIGINT)
                    """,
                    []
                )
                try db.insert(Self.token("abcdef"))
                try db.insert(Self.token("ghijkl"))
            }
            let used = Self.used("abcdef")
            #expect(try await engine.write { db in try db.update(used) })
            let tokens = try await engine.read { db in try db.fetch(JoinTokenRow.self, "ORDER BY id") }
            #expect(tokens == [used, Self.token("ghijkl")])
            await engine.close()
        }
    }

    @Test func propertyNamesBecomeGRDBsColumnNames() {
        let cases = [
            "id": "id", "ramMb": "ram_mb", "ipAddress": "ip_address", "maxVmCount": "max_vm_count",
            "usedBy": "used_by", "cpuUtil": "cpu_util", "secretHash": "secret_hash", "vcpuOverride": "vcpu_override",
        ]
        for (property, column) in cases {
            #expect(SnakeCase.convert(property) == column, "\(property)")
        }
    }
}
