import Foundation

/// A throwaway PostgreSQL cluster for a test: `initdb` in a temporary directory, `postgres`
/// on a free loopback port, both as the `postgres` user (they refuse to run as root), and
/// everything removed by ``stop()``.
///
/// The superuser is `berth` with trust authentication on loopback only; the database is
/// `berth`. `.ci/run` installs Debian's `postgresql` when it is missing; without it (or
/// without root, which `runuser` needs) ``isAvailable`` is false and the tests that need a
/// server say so rather than pass.
public final class TestPostgres: Sendable {
    public let directory: URL
    public let port: Int

    /// The data directory.
    public var dataDirectory: URL { directory.appendingPathComponent("data") }

    /// `postgres://berth@127.0.0.1:<port>/berth`.
    public var url: String { "postgres://berth@127.0.0.1:\(port)/berth" }

    init(directory: URL, port: Int) {
        self.directory = directory
        self.port = port
    }

    /// Where Debian puts the server's programs (not on `PATH`); else a `PATH` directory
    /// that holds every program the tests run.
    static let binDirectory: String? = {
        let fm = FileManager.default
        let programs = ["initdb", "pg_ctl", "postgres", "createdb", "psql", "pg_basebackup"]
        func complete(_ path: String) -> Bool { programs.allSatisfy { fm.isExecutableFile(atPath: "\(path)/\($0)") } }
        let versions = (try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) where complete("/usr/lib/postgresql/\(version)/bin") {
            return "/usr/lib/postgresql/\(version)/bin"
        }
        return (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init).first(where: complete)
    }()

    static let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Whether a cluster can be started here: the server installed, and root for `runuser`.
    public static var isAvailable: Bool { binDirectory != nil && runuser != nil && getuid() == 0 }

    /// Runs a server program as `postgres`; throws with its output unless it exits 0.
    @discardableResult
    static func asPostgres(_ program: String, _ arguments: [String]) async throws -> Shell.Output {
        guard let bin = binDirectory, let runuser else { throw TestPostgresError("PostgreSQL is not installed") }
        // A statement of a test that waits for a lock fails after 20 s instead of hanging.
        var environment = ProcessInfo.processInfo.environment
        environment["PGOPTIONS"] = "-c lock_timeout=20000 -c statement_timeout=60000"
        let output = try await Shell.run(
            runuser,
            ["-u", "postgres", "--", "\(bin)/\(program)"] + arguments,
            environment: environment
        )
        guard output.exitCode == 0 else {
            throw TestPostgresError("\(program) \(arguments.joined(separator: " ")): \(output.stderr)\(output.stdout)")
        }
        return output
    }

    /// Creates a cluster and starts it; `settings` are extra `-c name=value` server settings.
    public static func start(settings: [String: String] = [:]) async throws -> TestPostgres {
        let directory = try await postgresDirectory("pg")
        let data = directory.appendingPathComponent("data").path
        try await asPostgres(
            "initdb",
            ["-D", data, "-U", "berth", "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C"]
        )
        let cluster = try await serve(directory, settings: settings)
        do {
            try await asPostgres("createdb", ["-h", "127.0.0.1", "-p", "\(cluster.port)", "-U", "berth", "berth"])
            return cluster
        } catch {
            await cluster.stop()
            throw error
        }
    }

    /// A temporary directory the `postgres` user owns.
    static func postgresDirectory(_ prefix: String) async throws -> URL {
        let directory = TestPaths.temporaryDirectory(prefix)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        let owner = try await Shell.run("/usr/bin/chown", ["postgres:postgres", directory.path])
        guard owner.exitCode == 0 else { throw TestPostgresError("chown: \(owner.stderr)") }
        return directory
    }

    /// Starts a server on the cluster files in `directory`, on a free port (another one if a
    /// test took that port meanwhile); stops it and throws if it cannot start.
    static func serve(_ directory: URL, settings: [String: String] = [:]) async throws -> TestPostgres {
        var attempt = 0
        while true {
            attempt += 1
            let cluster = TestPostgres(directory: directory, port: TestPorts.freeOutsideEphemeralRange())
            do {
                try await cluster.startServer(settings: settings)
                return cluster
            } catch where attempt < 5 && cluster.log.contains("already in use") {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent("server.log"))
                continue
            } catch {
                await cluster.stop()
                throw error
            }
        }
    }

    /// Runs `body` with a new cluster, and stops and removes it afterwards, also when `body`
    /// throws (`pg_ctl` detaches the server, so a cluster not stopped outlives the tests).
    public static func with<T>(
        settings: [String: String] = [:],
        _ body: (TestPostgres) async throws -> T
    ) async throws -> T {
        let cluster = try await start(settings: settings)
        do {
            let value = try await body(cluster)
            await cluster.stop()
            return value
        } catch {
            await cluster.stop()
            throw error
        }
    }

    /// Starts the server on the cluster's port and waits until it accepts connections.
    public func startServer(settings: [String: String] = [:]) async throws {
        var options = [
            "-p \(port)", "-k \(directory.path)", "-c listen_addresses=127.0.0.1",
            "-c max_connections=200", "-c shared_buffers=32MB",
        ]
        options += settings.sorted(by: { $0.key < $1.key }).map { "-c \($0.key)=\($0.value)" }
        try await Self.asPostgres(
            "pg_ctl",
            [
                "-D", dataDirectory.path, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "60",
                "-o", options.joined(separator: " "), "start",
            ]
        )
    }

    /// A streaming standby of this cluster, in a directory of its own on a free port:
    /// `pg_basebackup -R` from this server, then started (in recovery, read-only).
    public func startStandby() async throws -> TestPostgres {
        let directory = try await Self.postgresDirectory("pg-standby")
        try await Self.asPostgres(
            "pg_basebackup",
            [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", "berth", "-D", directory.appendingPathComponent("data").path,
                "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
            ]
        )
        return try await Self.serve(directory)
    }

    /// Makes every commit on this primary wait for a standby (`synchronous_standby_names =
    /// '*'`, `synchronous_commit = on`), and waits until one streams synchronously.
    public func requireSynchronousStandby() async throws {
        try await psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        try await psql("ALTER SYSTEM SET synchronous_commit = 'on'")
        try await psql("SELECT pg_reload_conf()")
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < .seconds(30) {
            if try await psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "0" { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestPostgresError("no standby became synchronous")
    }

    /// Promotes a standby to a primary and waits until it is writable.
    public func promote() async throws {
        try await Self.asPostgres("pg_ctl", ["-D", dataDirectory.path, "-w", "-t", "60", "promote"])
    }

    /// Stops the server at once (as a crash would: no checkpoint), keeping the files.
    public func kill() async throws {
        try await Self.asPostgres("pg_ctl", ["-D", dataDirectory.path, "-m", "immediate", "-w", "stop"])
    }

    /// Stops the server and removes the cluster's files.
    public func stop() async {
        _ = try? await Self.asPostgres("pg_ctl", ["-D", dataDirectory.path, "-m", "fast", "-w", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs SQL with `psql` as `berth` on the `berth` database; returns the unaligned output.
    @discardableResult
    public func psql(_ sql: String) async throws -> String {
        try await Self.asPostgres(
            "psql",
            ["-h", "127.0.0.1", "-p", "\(port)", "-U", "berth", "-d", "berth", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql]
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The server's log so far, for a failing test's message.
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
