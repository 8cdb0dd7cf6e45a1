import ArgumentParser
import ControlPlane
import Foundation

/// `berth restore`: a data directory rebuilt from a `berth backup` archive.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Rebuild a control plane's data directory from a backup archive.",
        discussion: """
            The directory must be new or empty. Every chunk is checked against its hash and \
            the database against the manifest before anything is put in place. The restore \
            begins a new command epoch, so nodes take the restored control plane's commands \
            even if they applied later ones from the lost history. Start the control plane \
            on the restored directory; nodes reconnect with the certificates they have.
            """
    )

    @Argument(help: "The archive `berth backup` wrote.")
    var archive: String

    @Option(help: "The data directory to create.")
    var dataDir: String

    @OptionGroup var database: DatabaseOption

    func run() async throws {
        guard database.location == nil else {
            throw CommandFailure(
                "the state is in PostgreSQL: back it up (and restore it) with pg_dump and pg_restore, and keep a "
                    + "synchronous standby (docs/ha.md); berth restore covers SQLite data directories"
            )
        }
        let summary = try await ControlPlaneRestore.restore(
            from: URL(fileURLWithPath: archive),
            into: DataDirectory(URL(fileURLWithPath: dataDir))
        )
        let manifest = summary.manifest
        let taken = Date(timeIntervalSince1970: manifest.createdAt)
        print("restored \(dataDir) from the backup of \(taken.formatted(.iso8601))")
        print(
            "  \(manifest.counts["nodes"] ?? 0) nodes, \(manifest.counts["instances"] ?? 0) instances, "
                + "\(manifest.counts["templates"] ?? 0) templates, \(manifest.chunks) chunks"
        )
        if summary.forgottenChunks > 0 {
            print("  \(summary.forgottenChunks) chunks of unfinished pushes were not in the archive and are forgotten")
        }
        print("  new command epoch \(summary.commandEpoch)")
    }
}
