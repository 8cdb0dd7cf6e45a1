import BerthTestSupport
import Logging
import Persistence
import Testing

/// Finding the writable server among a primary, its standby and a host that is down.
@Suite struct PostgresPrimaryTests {
    @Test func theWritableHostIsFoundBeforeAndAfterThePrimaryFails() async throws {
        try #require(TestPostgres.isAvailable, "needs PostgreSQL (apt-get install postgresql) and root for runuser")
        let logger = TestLogging.logger("primary")
        try await TestPostgres.with { primary in
            let standby = try await primary.startStandby()
            do {
                try await Self.failover(primary, standby, logger: logger)
                await standby.stop()
            } catch {
                await standby.stop()
                throw error
            }
        }
    }

    static func failover(_ primary: TestPostgres, _ standby: TestPostgres, logger: Logger) async throws {
        try await primary.requireSynchronousStandby()
        try await primary.psql("CREATE TABLE acknowledged (id TEXT PRIMARY KEY)")
        try await primary.psql("INSERT INTO acknowledged VALUES ('before')")
        let down = TestPorts.freeOutsideEphemeralRange()
        let location = try PostgresLocation(
            url: "postgres://berth@127.0.0.1:\(down),127.0.0.1:\(standby.port),127.0.0.1:\(primary.port)/berth"
        )
        // The standby answers but is in recovery; the primary is the one.
        #expect(try await PostgresPrimary.find(in: location, logger: logger).port == primary.port)

        // The primary dies; until the standby is promoted nothing is writable, and the
        // refusal says why for each host.
        try await primary.kill()
        let none = await #expect(throws: PersistenceError.self) {
            try await PostgresPrimary.find(in: location, logger: logger)
        }
        #expect(none?.code == .unavailable && none?.reason.contains("\(standby.port) is a standby") == true)
        try await standby.promote()
        #expect(try await PostgresPrimary.find(in: location, logger: logger).port == standby.port)
        #expect(try await standby.psql("SELECT id FROM acknowledged") == "before")
    }
}
