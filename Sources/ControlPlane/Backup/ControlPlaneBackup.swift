import Crypto
import Foundation
import Persistence
import TarFormat
import WireProtocol

/// `berth backup`: one tar archive of a control plane's data directory, taken while it runs.
///
/// ```
/// berth-backup/berth.sqlite          a consistent snapshot (SQLite's online backup)
/// berth-backup/pki/…                 the CA and the server identity
/// berth-backup/chunks/ab/ab12…       every chunk file the snapshot records
/// berth-backup/manifest.json         last: what the archive holds (``BackupManifest``)
/// ```
///
/// Chunk files never change once written, and collection removes only chunks no version
/// refers to, so copying them after the snapshot gives every chunk the snapshot's versions
/// need, unless a template deleted after the snapshot lost one to collection; the backup then
/// starts over from a new snapshot.
public enum ControlPlaneBackup {
    /// Writes the archive to `output` (replacing it atomically, mode 0600: it holds the CA key).
    @discardableResult
    public static func create(from directory: DataDirectory, to output: URL, attempts: Int = 3) throws -> BackupManifest {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try createOnce(from: directory, to: output)
            } catch is VanishedChunk where attempt < attempts {
                continue
            }
        }
    }

    /// A chunk the snapshot's versions refer to was collected before it was copied.
    struct VanishedChunk: Error, CustomStringConvertible {
        var hash: String
        var description: String {
            "chunk \(hash) was removed while the backup ran (a template was deleted); try again"
        }
    }

    private static func createOnce(from directory: DataDirectory, to output: URL) throws -> BackupManifest {
        let files = FileManager.default
        guard files.fileExists(atPath: directory.databasePath) else {
            throw ControlPlaneError(.notFound, "\(directory.url.path) holds no berth.sqlite; is it a control plane's --data-dir?")
        }
        let outputDirectory = output.deletingLastPathComponent()
        let scratch = outputDirectory.appendingPathComponent(".berth-backup-\(RandomID.hex(12))")
        try files.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? files.removeItem(at: scratch) }

        let snapshot = scratch.appendingPathComponent("berth.sqlite")
        let createdAt = Date().timeIntervalSince1970
        try DatabaseSnapshot.copy(databaseAt: directory.databasePath, to: snapshot.path)
        let contents = try DatabaseSnapshot.contents(ofDatabaseAt: snapshot.path)

        let partial = scratch.appendingPathComponent("archive.tar")
        guard files.createFile(atPath: partial.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ControlPlaneError(.internalError, "cannot create a file in \(outputDirectory.path)")
        }
        let handle = try FileHandle(forWritingTo: partial)
        defer { try? handle.close() }
        var tar = TarWriter(output: handle)
        let root = BackupManifest.root

        try tar.add(path: "\(root)/berth.sqlite", contentsOf: snapshot)
        var pkiFiles: [String] = []
        let pki = directory.pkiDirectory
        for name in try files.contentsOfDirectory(atPath: pki.path).sorted() where !name.hasPrefix(".") {
            var isDirectory: ObjCBool = false
            let path = pki.appendingPathComponent(name)
            guard files.fileExists(atPath: path.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            try tar.add(path: "\(root)/pki/\(name)", contentsOf: path)
            pkiFiles.append(name)
        }

        var chunkCount = 0
        var chunkBytes: Int64 = 0
        for bytes in contents.recordedChunks {
            guard let hash = ChunkHash(bytes: bytes) else { continue }
            let hex = hash.hex
            let file = directory.chunkFile(hex: hex)
            guard files.fileExists(atPath: file.path) else {
                // Unreferenced (a push in progress, or collected): the restore forgets it.
                if contents.referencedChunks.contains(bytes) { throw VanishedChunk(hash: hex) }
                continue
            }
            chunkBytes += Int64(try tar.add(path: "\(root)/chunks/\(hex.prefix(2))/\(hex)", contentsOf: file))
            chunkCount += 1
        }

        let manifest = BackupManifest(
            format: BackupManifest.currentFormat,
            createdAt: createdAt,
            migrations: contents.migrations,
            databaseSHA256: try sha256(of: snapshot),
            counts: contents.counts,
            chunks: chunkCount,
            chunkBytes: chunkBytes,
            pkiFiles: pkiFiles
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try tar.add(path: "\(root)/manifest.json", data: Array(try encoder.encode(manifest)))
        try tar.finish()
        try handle.synchronize()
        try handle.close()
        if rename(partial.path, output.path) != 0 {
            throw ControlPlaneError(.internalError, "cannot write \(output.path) (errno \(errno))")
        }
        return manifest
    }

    /// SHA-256 of a file, in hex, read in blocks.
    static func sha256(of url: URL) throws -> String {
        let input = try FileHandle(forReadingFrom: url)
        defer { try? input.close() }
        var hasher = SHA256()
        while let block = try input.read(upToCount: 1 << 20), !block.isEmpty { hasher.update(data: block) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
