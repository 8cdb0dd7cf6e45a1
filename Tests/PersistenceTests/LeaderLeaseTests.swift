import BerthTestSupport
import Foundation
import Logging
import Persistence
import PostgresNIO
import Testing

/// The leader lease and its fencing epoch on a real, throwaway PostgreSQL cluster.
@Suite struct LeaderLeaseTests {
    static let logger = TestLogging.logger("lease")

    /// Runs `body` with `count` clients of `cluster` (each its own pool, as each replica has)
    /// and a lease on an engine of its own for each.
    static func withClients(
        _ cluster: TestPostgres,
        count: Int,
        _ body: ([PostgresClient], [LeaderLease]) async throws -> Void
    ) async throws {
        let engines = try (0..<count).map { _ in
            PostgresEngine(location: try PostgresLocation(url: cluster.url), logger: logger)
        }
        let clients = (0..<count).map { _ in
            PostgresClient(
                configuration: .init(host: "127.0.0.1", port: cluster.port, username: "berth", password: nil, database: "berth", tls: .disable),
                backgroundLogger: logger
            )
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { await client.run() } }
            defer { group.cancelAll() }
            try await body(clients, engines.map { LeaderLease(engine: $0) })
        }
        for engine in engines { await engine.close() }
    }

    /// A write as a leader makes it: fenced by its epoch, in one transaction.
    static func write(_ client: PostgresClient, epoch: Int64, _ value: String) async throws {
        do {
            try await client.withTransaction(logger: logger) { connection in
                try await LeaderLease.fence(connection, epoch: epoch, logger: logger)
                try await connection.query("INSERT INTO writes (value, epoch) VALUES (\(value), \(epoch))", logger: logger)
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }

    @Test func oneLeaderAtATimeAndADeposedLeaderCannotWrite() async throws {
        try #require(TestPostgres.isAvailable, "needs PostgreSQL (apt-get install postgresql) and root for runuser")
        try await TestPostgres.with { cluster in try await Self.withClients(cluster, count: 2) { clients, leases in
            let (a, b) = (leases[0], leases[1])
            try await a.prepare()
            try await b.prepare()
            try await clients[0].query("CREATE TABLE writes (value TEXT NOT NULL, epoch BIGINT NOT NULL)")

            // A leads; B is told who does and where.
            let first = try #require(try await a.acquire(holder: "cp-a", address: "10.0.0.1:7420", ttl: 1.5))
            #expect(try await b.acquire(holder: "cp-b", address: "10.0.0.2:7420", ttl: 1.5) == nil)
            let holder = try #require(try await b.current())
            #expect(holder.id == "cp-a" && holder.address == "10.0.0.1:7420" && holder.epoch == first)
            #expect(try await a.renew(holder: "cp-a", epoch: first, ttl: 1.5))
            try await Self.write(clients[0], epoch: first, "a1")

            // A stops renewing (a pause, a crash): B takes over once the lease lapses, with a
            // new epoch.
            let clock = ContinuousClock()
            let lapsed = clock.now
            var second: Int64?
            while second == nil, clock.now - lapsed < .seconds(10) {
                second = try await b.acquire(holder: "cp-b", address: "10.0.0.2:7420", ttl: 1.5)
                if second == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            let epoch = try #require(second)
            #expect(epoch == first + 1)
            #expect(clock.now - lapsed < .seconds(3))

            // A wakes up late: it cannot renew, and its writes are refused; B's go through.
            #expect(try await a.renew(holder: "cp-a", epoch: first, ttl: 1.5) == false)
            let refused = await #expect(throws: PersistenceError.self) {
                try await Self.write(clients[0], epoch: first, "a2")
            }
            #expect(refused?.code == .fenced)
            try await Self.write(clients[1], epoch: epoch, "b1")
            let values = try await cluster.psql("SELECT string_agg(value || ':' || epoch, ',' ORDER BY value) FROM writes")
            #expect(values == "a1:\(first),b1:\(epoch)")

            // A clean shutdown hands over at once.
            try await b.release(holder: "cp-b", epoch: epoch)
            #expect(try await a.acquire(holder: "cp-a", address: "10.0.0.1:7420", ttl: 30) == epoch + 1)
        } }
    }

    @Test func aTakeoverWaitsForTheWriteInFlightAndNothingAfterItGetsIn() async throws {
        try #require(TestPostgres.isAvailable, "needs PostgreSQL (apt-get install postgresql) and root for runuser")
        try await TestPostgres.with { cluster in try await Self.withClients(cluster, count: 2) { clients, leases in
            let (a, b) = (leases[0], leases[1])
            try await a.prepare()
            try await clients[0].query("CREATE TABLE writes (value TEXT NOT NULL, epoch BIGINT NOT NULL)")
            let first = try #require(try await a.acquire(holder: "cp-a", address: "a", ttl: 30))
            // A's lease lapses (nobody took over yet) just as it begins a write; B's
            // takeover must wait for that write.
            try await cluster.psql("UPDATE leader_lease SET expires_at = now() - interval '1 second'")
            let takeover = try await clients[0].withTransaction(logger: Self.logger) { connection in
                try await LeaderLease.fence(connection, epoch: first, logger: Self.logger)
                let takeover = Task { try await b.acquire(holder: "cp-b", address: "b", ttl: 30) }
                try await cluster.waitForLockWaiter()
                try await connection.query("INSERT INTO writes VALUES ('a-in-flight', \(first))", logger: Self.logger)
                return takeover
            }
            // A's write committed, and only then did B lead.
            #expect(try await takeover.value == first + 1)
            #expect(try await cluster.psql("SELECT value FROM writes") == "a-in-flight")
            #expect(try await b.current()?.id == "cp-b")
            await #expect(throws: PersistenceError.self) { try await Self.write(clients[0], epoch: first, "late") }
        } }
    }
}

extension TestPostgres {
    /// Waits until some session of the cluster waits for a lock.
    func waitForLockWaiter() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < .seconds(10) {
            if try await psql("SELECT count(*) FROM pg_locks WHERE NOT granted") != "0" { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestPostgresError("no session waited for a lock")
    }
}
