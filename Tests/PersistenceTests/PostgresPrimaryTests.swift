import BerthTestSupport
import Logging
import Synchronization
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

    /// The engine's connections follow the promotion: while nothing is writable a write
    /// fails at once (it does not hang), and once the standby is promoted writes go on there,
    /// on the writer, the readers and the lease's connection alike.
    @Test func theEngineWritesOnThePromotedStandby() async throws {
        try #require(TestPostgres.isAvailable, "needs PostgreSQL (apt-get install postgresql) and root for runuser")
        let logger = TestLogging.logger("primary")
        try await TestPostgres.with { primary in
            let standby = try await primary.startStandby()
            defer { Task { await standby.stop() } }
            try await primary.requireSynchronousStandby()
            let engine = PostgresEngine(
                location: try PostgresLocation(url: "postgres://berth@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/berth"),
                logger: logger
            )
            let lease = LeaderLease(engine: engine)
            try await lease.prepare()
            let epoch = try #require(try await lease.acquire(holder: "cp-a", address: "a", ttl: 30))
            engine.fence(epoch: epoch)
            try await engine.write { db in try db.execute("CREATE TABLE acknowledged (id TEXT PRIMARY KEY)", []) }
            try await engine.write { db in try db.execute("INSERT INTO acknowledged VALUES ('before')", []) }
            for _ in 0..<PostgresEngine.readerCount {
                #expect(try await engine.read { db in try db.value("SELECT count(*) FROM acknowledged").int } == 1)
            }

            // Writes and reads go on throughout, as a control plane's do: through the kill and
            // the promotion. None may hang, and they go on on the promoted standby.
            let progress = Progress()
            let busy = (0..<3).map { worker in
                Task { [engine, lease] in
                    var count = 0
                    while !Task.isCancelled {
                        count += 1
                        let id = "busy-\(worker)-\(count)"
                        do {
                            try await engine.write { db in
                                try db.executeLater("INSERT INTO acknowledged VALUES (?)", [.text(id)])
                                try db.executeLater("UPDATE acknowledged SET id = id WHERE id = ?", [.text(id)])
                            }
                            progress.writes.add(1, ordering: .relaxed)
                        } catch {}
                        do {
                            _ = try await engine.read { db in try db.value("SELECT count(*) FROM acknowledged") }
                            progress.reads.add(1, ordering: .relaxed)
                        } catch {}
                        if (try? await lease.renew(holder: "cp-a", epoch: epoch, ttl: 30)) == nil {
                            try? await Task.sleep(for: .milliseconds(5))
                        }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            try await primary.kill()
            // While nothing is writable a write fails at once.
            try await withTimeout(20, "a write while nothing is writable to fail") {
                await #expect(throws: (any Error).self) {
                    try await engine.write { db in try db.execute("INSERT INTO acknowledged VALUES ('nowhere')", []) }
                }
            }
            try await standby.promote()
            let promoted = progress.now
            try await withTimeout(20, "writes and reads to go on after the promotion") {
                while true {
                    let now = progress.now
                    if now.writes > promoted.writes + 20 && now.reads > promoted.reads + 20 { return }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            for task in busy { task.cancel() }
            try await withTimeout(20, "the busy loops to end") { for task in busy { _ = await task.result } }
            try await withTimeout(20, "writes on the promoted standby") {
                while true {
                    do {
                        try await engine.write { db in try db.execute("INSERT INTO acknowledged VALUES ('after')", []) }
                        return
                    } catch {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            #expect(try await lease.renew(holder: "cp-a", epoch: epoch, ttl: 30))
            for _ in 0..<PostgresEngine.readerCount {
                let ids = try await withTimeout(20, "a read on the promoted standby") {
                    while true {
                        if let ids = try? await engine.read({ db in try db.values("SELECT id FROM acknowledged ORDER BY id").compactMap(\.string) }) {
                            return ids
                        }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                #expect(ids.contains("after") && ids.contains("before"))
            }
            await engine.close()
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

/// Writes and reads that succeeded, counted across tasks.
final class Progress: Sendable {
    let writes = Atomic<Int>(0)
    let reads = Atomic<Int>(0)
    var now: (writes: Int, reads: Int) { (writes.load(ordering: .relaxed), reads.load(ordering: .relaxed)) }
}
