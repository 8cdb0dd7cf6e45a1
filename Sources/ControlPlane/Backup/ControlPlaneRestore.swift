import Crypto
import Foundation
import Persistence
import TarFormat
import WireProtocol

/// `berth restore`: rebuilds a data directory from a ``ControlPlaneBackup`` archive.
///
/// Everything is unpacked into a scratch directory beside the target and checked there:
/// only the archive's known paths are accepted, each chunk must hash to its name, the
/// database must match the manifest's digest and be one this build can open, and every chunk
/// a template version refers to must be present. The database is then migrated, its records
/// of chunks the archive lacked are dropped, and a new command epoch begins (so nodes that
/// applied commands of a later history still take the restored one's). Only then is the
/// scratch directory renamed into place; a failed restore leaves nothing behind.
public enum ControlPlaneRestore {
    /// What a restore found, for the command's report.
    public struct Summary: Sendable {
        public var manifest: BackupManifest
        /// Chunk records dropped because their files were not in the archive (pushes in progress).
        public var forgottenChunks: Int
        /// The command epoch the restore began.
        public var commandEpoch: Int64
    }

    public static func restore(from archive: URL, into directory: DataDirectory) async throws -> Summary {
        let files = FileManager.default
        let target = directory.url.standardizedFileURL
        if files.fileExists(atPath: target.path) {
            let entries = try files.contentsOfDirectory(atPath: target.path)
            guard entries.isEmpty else {
                throw ControlPlaneError(
                    .conflict,
                    "\(target.path) is not empty; restore into a new or empty directory"
                )
            }
        }
        let input: FileHandle
        do {
            input = try FileHandle(forReadingFrom: archive)
        } catch {
            throw ControlPlaneError(.notFound, "cannot read \(archive.path): \(error.localizedDescription)")
        }
        defer { try? input.close() }

        let scratchURL = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).restoring-\(RandomID.hex(8))")
        // 0700: it will hold the CA key.
        try files.createDirectory(at: scratchURL, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var finished = false
        defer { if !finished { try? files.removeItem(at: scratchURL) } }
        let scratch = DataDirectory(scratchURL)

        let manifest = try unpack(input, into: scratch, archive: archive)
        guard try ControlPlaneBackup.sha256(of: URL(fileURLWithPath: scratch.databasePath)) == manifest.databaseSHA256
        else { throw invalid(archive, "berth.sqlite does not match the manifest's digest") }
        let unknown = try DatabaseSnapshot.unknownMigrations(databaseAt: scratch.databasePath)
        guard unknown.isEmpty else {
            throw invalid(archive, "it was written by a newer Berth (migrations \(unknown.joined(separator: ", ")))")
        }
        for name in ["ca.crt", "ca.key", "controlplane.crt", "controlplane.key"] {
            guard files.fileExists(atPath: scratch.pkiDirectory.appendingPathComponent(name).path) else {
                throw invalid(archive, "it lacks pki/\(name)")
            }
        }
        _ = try scratch.loadAuthority()
        _ = try scratch.loadServerIdentity()

        // The database as this build keeps it: migrated, with only chunks that are present.
        let contents = try DatabaseSnapshot.contents(ofDatabaseAt: scratch.databasePath)
        let present = { (bytes: [UInt8]) -> Bool in
            guard let hash = ChunkHash(bytes: bytes) else { return false }
            return files.fileExists(atPath: scratch.chunkFile(hex: hash.hex).path)
        }
        let missing = contents.referencedChunks.filter { !present($0) }
        guard missing.isEmpty else {
            throw invalid(archive, "it lacks \(missing.count) chunks that templates refer to")
        }
        let absent = contents.recordedChunks.filter { !present($0) }
        let (forgotten, epoch) = try await prepare(scratch, forgetting: absent)

        if files.fileExists(atPath: target.path) { try files.removeItem(at: target) }
        try files.moveItem(at: scratchURL, to: target)
        finished = true
        return Summary(manifest: manifest, forgottenChunks: forgotten, commandEpoch: epoch)
    }

    /// Opens the restored database (which migrates it), drops absent chunks' records and
    /// begins a command epoch; the database is closed again when this returns.
    private static func prepare(_ scratch: DataDirectory, forgetting absent: [[UInt8]]) async throws -> (Int, Int64) {
        let database = try scratch.openDatabase()
        let forgotten = try await database.forgetChunks(absent)
        let epoch = try await database.beginCommandEpoch(now: BerthDatabase.nowMicros())
        try await database.checkpoint()
        return (forgotten, epoch)
    }

    /// Streams the archive into `scratch`, checking each path and chunk; returns the manifest.
    private static func unpack(_ input: FileHandle, into scratch: DataDirectory, archive: URL) throws -> BackupManifest {
        let files = FileManager.default
        var parser = TarStreamParser()
        var manifestBytes: [UInt8]?
        var current: Entry?
        var sawDatabase = false

        while true {
            let block = try input.read(upToCount: 1 << 20) ?? Data()
            if block.isEmpty { break }
            let events: [TarStreamParser.Event]
            do {
                events = try parser.feed(block)
            } catch let failure as TarStreamParser.Failure {
                throw invalid(archive, failure.description)
            }
            for event in events {
                switch event {
                case .fileStart(let path, _):
                    guard manifestBytes == nil else { throw invalid(archive, "\(path) follows the manifest") }
                    let destination = try destinationOf(path, in: scratch, archive: archive)
                    switch destination {
                    case .manifest:
                        current = Entry(kind: .manifest, handle: nil)
                        manifestBytes = []
                    case .file(let url, let chunk):
                        if url.path == scratch.databasePath { sawDatabase = true }
                        try files.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                        guard files.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
                        else { throw ControlPlaneError(.internalError, "cannot create \(url.path)") }
                        current = Entry(
                            kind: chunk.map { .chunk($0, SHA256()) } ?? .file,
                            handle: try FileHandle(forWritingTo: url)
                        )
                    }
                case .data(let bytes):
                    guard var entry = current else { continue }
                    switch entry.kind {
                    case .manifest:
                        guard (manifestBytes?.count ?? 0) + bytes.count <= 1 << 20 else {
                            throw invalid(archive, "its manifest is over 1 MiB")
                        }
                        manifestBytes?.append(contentsOf: bytes)
                    case .chunk(let name, var hasher):
                        hasher.update(data: bytes)
                        entry.kind = .chunk(name, hasher)
                        try entry.handle?.write(contentsOf: bytes)
                    case .file:
                        try entry.handle?.write(contentsOf: bytes)
                    }
                    current = entry
                case .fileEnd:
                    guard let entry = current else { continue }
                    try entry.handle?.close()
                    if case .chunk(let name, let hasher) = entry.kind {
                        let digest = ChunkHash(bytes: Array(hasher.finalize()))!.hex
                        guard digest == name else { throw invalid(archive, "chunk \(name) is damaged (its bytes hash to \(digest))") }
                    }
                    current = nil
                }
            }
        }
        do {
            try parser.finish()
        } catch let failure as TarStreamParser.Failure {
            throw invalid(archive, failure.description)
        }
        guard let manifestBytes else { throw invalid(archive, "it has no manifest (cut short?)") }
        let manifest: BackupManifest
        do {
            manifest = try JSONDecoder().decode(BackupManifest.self, from: Data(manifestBytes))
        } catch {
            throw invalid(archive, "its manifest is not readable: \(error)")
        }
        guard manifest.format == BackupManifest.currentFormat else {
            throw invalid(archive, "its format is \(manifest.format); this Berth reads \(BackupManifest.currentFormat)")
        }
        guard sawDatabase else { throw invalid(archive, "it has no berth.sqlite") }
        return manifest
    }

    private struct Entry {
        enum Kind {
            case manifest
            case file
            case chunk(String, SHA256)
        }
        var kind: Kind
        var handle: FileHandle?
    }

    private enum Destination {
        case manifest
        /// A file to write, and the chunk hash its bytes must have.
        case file(URL, chunk: String?)
    }

    /// Where an archive path goes; anything but the layout's own names is refused.
    private static func destinationOf(_ path: String, in scratch: DataDirectory, archive: URL) throws -> Destination {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.first == BackupManifest.root else { throw invalid(archive, "unexpected entry \(path)") }
        let rest = Array(parts.dropFirst())
        let isHex = { (text: String) in text.allSatisfy { "0123456789abcdef".contains($0) } }
        switch rest.count {
        case 1 where rest[0] == "manifest.json":
            return .manifest
        case 1 where rest[0] == "berth.sqlite":
            return .file(URL(fileURLWithPath: scratch.databasePath), chunk: nil)
        case 2 where rest[0] == "pki" && !rest[1].isEmpty && !rest[1].hasPrefix(".")
            && rest[1].allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }):
            return .file(scratch.pkiDirectory.appendingPathComponent(rest[1]), chunk: nil)
        case 3 where rest[0] == "chunks" && rest[2].count == 64 && isHex(rest[2]) && rest[1] == String(rest[2].prefix(2)):
            return .file(scratch.chunkFile(hex: rest[2]), chunk: rest[2])
        default:
            throw invalid(archive, "unexpected entry \(path)")
        }
    }

    private static func invalid(_ archive: URL, _ reason: String) -> ControlPlaneError {
        ControlPlaneError(.badRequest, "\(archive.path) is not a usable Berth backup: \(reason)")
    }
}
