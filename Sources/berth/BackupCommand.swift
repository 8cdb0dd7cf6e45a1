import ArgumentParser
import ControlPlane
import Foundation

/// `berth backup`: an online archive of a control plane's data directory.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent archive of a control plane's data while it runs.",
        discussion: """
            The archive (a tar file, mode 0600) holds a snapshot of the database taken with \
            SQLite's online backup API, the registry chunks the snapshot records and the PKI, \
            including the CA key: keep it as safe as the CA. The control plane keeps serving \
            while it runs. Restore it with `berth restore`.
            """
    )

    @Option(help: "The control plane's data directory.")
    var dataDir: String

    @OptionGroup var database: DatabaseOption

    @Option(help: "The archive to write (replaced atomically when it exists).")
    var out: String

    @Flag(help: "Print the archive's manifest as JSON.")
    var json = false

    func run() async throws {
        guard database.location == nil else {
            throw CommandFailure(
                "the state is in PostgreSQL: back it up (and restore it) with pg_dump and pg_restore, and keep a "
                    + "synchronous standby (docs/ha.md); berth backup covers SQLite data directories"
            )
        }
        let started = ContinuousClock.now
        let manifest = try ControlPlaneBackup.create(
            from: DataDirectory(URL(fileURLWithPath: dataDir)),
            to: URL(fileURLWithPath: out)
        )
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(manifest), as: UTF8.self))
            return
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? NSNumber)?.int64Value ?? 0
        let counts = manifest.counts
        print("backup written to \(out) (\(ByteCountFormatter.string(fromByteCount: size, countStyle: .binary)))")
        print(
            "  \(counts["nodes"] ?? 0) nodes, \(counts["instances"] ?? 0) instances, "
                + "\(counts["templates"] ?? 0) templates (\(counts["template_versions"] ?? 0) versions)"
        )
        print("  \(manifest.chunks) chunks (\(ByteCountFormatter.string(fromByteCount: manifest.chunkBytes, countStyle: .binary)))")
        print("  pki: \(manifest.pkiFiles.joined(separator: ", "))")
        print("  took \(started.duration(to: .now).formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))")
    }
}
