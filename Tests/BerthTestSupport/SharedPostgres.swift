import Foundation
import Persistence

/// One PostgreSQL cluster for the whole test process, with a fresh database for each test
/// that asks (``newDatabase()``): the storage suites run every test on PostgreSQL too, and
/// a cluster per test would spend seconds of `initdb` each.
///
/// The cluster is started on first use. A watchdog process stops it and removes its files
/// once the test process is gone, however it ended (a cluster started by `pg_ctl` is
/// detached and would outlive it).
public enum SharedPostgres {
    private static let cluster = ClusterHolder()

    /// A new, empty database on the shared cluster; it stays until the process ends.
    public static func newDatabase() async throws -> PostgresLocation {
        let cluster = try await cluster.get()
        let name = databaseName()
        try await cluster.psql("CREATE DATABASE \(name)")
        return try PostgresLocation(url: "postgres://berth@127.0.0.1:\(cluster.port)/\(name)")
    }

    static func databaseName() -> String {
        "t" + (0..<12).map { _ in String("abcdefghijklmnopqrstuvwxyz".randomElement()!) }.joined()
    }

    private actor ClusterHolder {
        private var starting: Task<TestPostgres, any Error>?

        func get() async throws -> TestPostgres {
            if let starting { return try await starting.value }
            let task = Task {
                let cluster = try await TestPostgres.start()
                try SharedPostgres.watch(cluster)
                return cluster
            }
            starting = task
            do {
                return try await task.value
            } catch {
                starting = nil  // the next test tries again
                throw error
            }
        }
    }

    /// Starts a shell that waits for this process to end, then stops the cluster at once
    /// and removes its files.
    static func watch(_ cluster: TestPostgres) throws {
        guard let bin = TestPostgres.binDirectory, let runuser = TestPostgres.runuser else { return }
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        watchdog.arguments = [
            "/bin/sh",
            "-c",
            """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            \(runuser) -u postgres -- \(bin)/pg_ctl -D '\(cluster.dataDirectory.path)' -m immediate -w stop
            rm -rf '\(cluster.directory.path)'
            """,
        ]
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
    }
}
