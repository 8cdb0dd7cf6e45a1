import Foundation
import Logging
import Persistence
import TLSTransport

/// The control plane's files: `berth.sqlite` and `pki/` (CA and server identity).
///
/// ```
/// <dir>/berth.sqlite           state (WAL: -wal and -shm beside it)
/// <dir>/pki/ca.crt, ca.key     the CA (key mode 0600)
/// <dir>/pki/controlplane.crt/.key   the control plane's server identity
/// <dir>/chunks/ab/ab12…        the registry's template chunks, by SHA-256
/// ```
public struct DataDirectory: Sendable {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    public var databasePath: String { url.appendingPathComponent("berth.sqlite").path }
    public var pkiDirectory: URL { url.appendingPathComponent("pki") }
    /// The registry's chunk files (``ContentStore``).
    public var chunksDirectory: URL { url.appendingPathComponent("chunks") }

    /// The file of the chunk whose SHA-256 is `hex`.
    public func chunkFile(hex: String) -> URL {
        chunksDirectory.appendingPathComponent(String(hex.prefix(2))).appendingPathComponent(hex)
    }

    public var isInitialized: Bool {
        FileManager.default.fileExists(atPath: pkiDirectory.appendingPathComponent("ca.key").path)
    }

    /// Creates the CA and the control plane's server certificate (`berth ca init`).
    ///
    /// - Parameter hosts: names and addresses the control plane is reached by; loopback is always included.
    /// - Parameter authority: the CA to use (a replica's, shared through the database); a new
    ///   one when `nil`.
    @discardableResult
    public func initialize(hosts: [String] = [], authority given: CertificateAuthority? = nil) throws
        -> CertificateAuthority
    {
        guard !isInitialized else {
            throw TLSTransportError(.unreadableFile, "\(pkiDirectory.path) already holds a CA; refusing to replace it")
        }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let authority = try given ?? CertificateAuthority.create()
        try authority.write(to: pkiDirectory)
        let allHosts = Array(Set(["localhost", "127.0.0.1", "::1"] + hosts)).sorted()
        let server = try authority.issueIdentity(
            PeerIdentity(role: .controlPlane, id: "controlplane"),
            hosts: allHosts,
            validity: 825 * 86_400
        )
        try server.write(to: pkiDirectory, name: "controlplane")
        return authority
    }

    public func loadAuthority() throws -> CertificateAuthority {
        try CertificateAuthority.read(from: pkiDirectory)
    }

    public func loadServerIdentity() throws -> TLSIdentity {
        try TLSIdentity.read(from: pkiDirectory, name: "controlplane")
    }

    public func openDatabase() throws -> BerthDatabase {
        try BerthDatabase(path: databasePath)
    }

    /// The PostgreSQL database at `location` (a `postgres://` URL), migrated; or, with no
    /// location, this directory's SQLite file.
    public func openDatabase(location: String?, logger: Logger) async throws -> BerthDatabase {
        guard let location, !location.isEmpty else { return try openDatabase() }
        let engine = PostgresEngine(location: try PostgresLocation(url: location), logger: logger)
        do {
            return try await BerthDatabase(postgres: engine)
        } catch {
            await engine.close()
            throw error
        }
    }
}
