import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// Finds the writable server among a location's hosts: a primary, not a standby in
/// recovery. postgres-nio connects to one host; this is libpq's
/// `target_session_attrs=read-write` for it.
public enum PostgresPrimary {
    /// The first host, in the location's order, that accepts a connection and is not in
    /// recovery. Throws ``PersistenceError/Code/unavailable`` naming what each host said.
    public static func find(
        in location: PostgresLocation,
        connectTimeout: TimeAmount = .seconds(3),
        logger: Logger
    ) async throws -> PostgresLocation.Host {
        var reasons: [String] = []
        for (index, host) in location.hosts.enumerated() {
            do {
                var configuration = location.configuration(for: host)
                configuration.options.connectTimeout = connectTimeout
                let connection = try await PostgresConnection.connect(
                    configuration: configuration,
                    id: index,
                    logger: logger
                )
                defer { Task { try? await connection.close() } }
                let rows = try await connection.query("SELECT pg_is_in_recovery()", logger: logger)
                for try await inRecovery in rows.decode(Bool.self) where !inRecovery {
                    return host
                }
                reasons.append("\(host.name):\(host.port) is a standby")
            } catch {
                reasons.append("\(host.name):\(host.port): \(String(reflecting: error).prefix(200))")
            }
        }
        throw PersistenceError(.unavailable, "no writable PostgreSQL server: " + reasons.joined(separator: "; "))
    }
}

extension PostgresLocation {
    /// A connection's settings for one of the hosts (plain TCP: the database is on a private
    /// network or loopback; TLS to PostgreSQL is not offered yet).
    func configuration(for host: Host) -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            host: host.name,
            port: host.port,
            username: user,
            password: password,
            database: database,
            tls: .disable
        )
    }
}
