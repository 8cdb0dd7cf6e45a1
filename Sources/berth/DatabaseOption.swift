import ArgumentParser
import ControlPlane
import Foundation
import Logging
import Persistence

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

    /// The location given, by option or environment; `nil` for SQLite.
    var location: String? {
        let given = database ?? ProcessInfo.processInfo.environment["BERTH_DATABASE"]
        return given?.isEmpty == false ? given : nil
    }

    /// Opens (and migrates) the database of the control plane whose files are in `directory`.
    func open(_ directory: DataDirectory) async throws -> BerthDatabase {
        try await directory.openDatabase(location: location, logger: Logger(label: "berth.database"))
    }
}
