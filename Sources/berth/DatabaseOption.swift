import ArgumentParser
import ControlPlane
import Foundation
import Logging
import Persistence
import TLSTransport

/// `--database`: where a control plane's state is, for every command that works on it
/// (`controlplane`, and `ca`, `token` and `sim` with `--data-dir`).
///
/// A `postgres://` URL (libpq's form; several hosts are tried for the writable one) puts the
/// state in PostgreSQL; without one (and without `BERTH_DATABASE`) it is the data
/// directory's SQLite file. The environment variable keeps a password off command lines.
struct DatabaseOption: ParsableArguments {
    @Option(
        help: """
            PostgreSQL location for the control plane's state instead of the data directory's \\
            SQLite file, e.g. postgres://berth@db1:5432,db2:5432/berth (the writable host is \\
            used); or BERTH_DATABASE.
            """
    )
    var database: String?

    @Option(
        help: """
            File holding the secret that seals the CA key stored in the database (at least 16 \
            bytes; every replica is given the same one). Required with --database.
            """
    )
    var caKeySecretFile: String?

    /// The location given, by option or environment; `nil` for SQLite.
    var location: String? {
        let given = database ?? ProcessInfo.processInfo.environment["BERTH_DATABASE"]
        return given?.isEmpty == false ? given : nil
    }

    /// The CA key secret; `nil` on SQLite, an error on PostgreSQL without one.
    func caKeySecret() throws -> [UInt8]? {
        guard location != nil else { return nil }
        guard let file = caKeySecretFile ?? ProcessInfo.processInfo.environment["BERTH_CA_KEY_SECRET_FILE"] else {
            throw ValidationError(
                "--database needs --ca-key-secret-file: the CA key is shared through the database, sealed with it"
            )
        }
        return Array(try SecretFile.read(file, option: "--ca-key-secret-file").utf8)
    }

    /// The CA of a control plane whose files are in `directory`: on PostgreSQL the one the
    /// replicas share through the database (stored from `directory` if it has none yet).
    func authority(_ directory: DataDirectory, database: BerthDatabase) async throws -> CertificateAuthority {
        guard let secret = try caKeySecret() else { return try directory.loadAuthority() }
        return try await SharedCertificateAuthority.resolve(database: database, directory: directory, secret: secret)
    }

    /// Opens (and migrates) the database of the control plane whose files are in `directory`.
    func open(_ directory: DataDirectory) async throws -> BerthDatabase {
        try await directory.openDatabase(location: location, logger: Logger(label: "berth.database"))
    }
}
