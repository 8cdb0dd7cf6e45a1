import Crypto
import Foundation
import NIOPosix
import Persistence
import WireProtocol

/// The registry's chunks, content-addressed by SHA-256, written once and never changed.
///
/// - On SQLite they are files, `<root>/<first two hex digits>/<sha-256 hex>` (written to a
///   temporary name, then renamed), on NIO's blocking thread pool so that file work never
///   holds a cooperative thread; which chunks exist is recorded in `chunks` after the file
///   is in place.
/// - On PostgreSQL they are rows of `chunk_data`, stored with their `chunks` record in one
///   transaction: every replica reads them, and a standby has them with the versions that
///   name them (docs/ha.md, "Chunks in PostgreSQL").
struct ContentStore: Sendable {
    let root: URL
    let database: BerthDatabase
    /// Whether the bytes are in the database (PostgreSQL) rather than in files.
    var inDatabase: Bool { !database.isSQLite }

    /// The largest chunk accepted (the frame limit leaves room for the envelope).
    static let maxChunkSize = ChunkHash.maximumChunkSize

    func url(for hash: ChunkHash) -> URL {
        let hex = hash.hex
        return root.appendingPathComponent(String(hex.prefix(2)), isDirectory: true).appendingPathComponent(hex)
    }

    static func hash(_ data: [UInt8]) -> ChunkHash {
        ChunkHash(bytes: Array(SHA256.hash(data: data)))!
    }

    /// Stores a chunk (idempotent) and returns its hash.
    func put(_ data: [UInt8]) async throws -> ChunkHash {
        guard data.count <= Self.maxChunkSize else {
            throw ControlPlaneError.badRequest("a chunk may hold at most \(Self.maxChunkSize) bytes, not \(data.count)")
        }
        let hash = Self.hash(data)
        if inDatabase {
            try await database.storeChunk(hash: hash.bytes, data: data, now: BerthDatabase.nowMicros())
            return hash
        }
        try await writeFile(data, hash: hash)
        try await database.recordChunks([(hash.bytes, data.count)], now: BerthDatabase.nowMicros())
        // Collection may have removed the file between the write (which found it there) and
        // the record; the record made the chunk young, so writing it again now is final.
        try await writeFile(data, hash: hash)
        return hash
    }

    /// Writes a chunk's file unless it is there (to a temporary name, then renamed).
    private func writeFile(_ data: [UInt8], hash: ChunkHash) async throws {
        let target = url(for: hash)
        try await NIOThreadPool.singleton.runIfActive {
            let files = FileManager.default
            guard !files.fileExists(atPath: target.path) else { return }
            try files.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            let temporary = target.deletingLastPathComponent()
                .appendingPathComponent(".\(hash.hex).\(UInt32.random(in: 0...UInt32.max)).tmp")
            try Data(data).write(to: temporary)
            if rename(temporary.path, target.path) != 0 {
                try? files.removeItem(at: temporary)
                throw ControlPlaneError(.internalError, "could not store chunk \(hash.hex) (errno \(errno))")
            }
        }
    }

    /// A stored chunk's bytes.
    func read(_ hash: ChunkHash) async throws -> [UInt8] {
        if inDatabase {
            guard let data = try await database.chunkData(hash: hash.bytes) else {
                throw ControlPlaneError.notFound("chunk \(hash.hex) is not stored")
            }
            return data
        }
        let source = url(for: hash)
        return try await NIOThreadPool.singleton.runIfActive {
            guard let data = FileManager.default.contents(atPath: source.path) else {
                throw ControlPlaneError.notFound("chunk \(hash.hex) is not stored")
            }
            return [UInt8](data)
        }
    }

    /// Which of `hashes` are not stored (those that are count as wanted now, so collection
    /// leaves them to the push that asked).
    func missing(_ hashes: [ChunkHash]) async throws -> [ChunkHash] {
        let stored = try await database.storedChunks(among: hashes.map(\.bytes), now: BerthDatabase.nowMicros())
        return hashes.filter { !stored.contains($0.bytes) }
    }

    /// Deletes chunks no version uses that are older than `grace` seconds (a push still
    /// uploading has not committed its version yet). Returns how many went.
    @discardableResult
    func collectGarbage(grace: Double = 3600) async throws -> Int {
        let cutoff = BerthDatabase.nowMicros() - Int64(grace * 1_000_000)
        // Files are removed inside the collecting transaction (see collectUnreferencedChunks).
        let doomed = try await database.collectUnreferencedChunks(storedBefore: cutoff) { [self] bytes in
            guard !inDatabase, let hash = ChunkHash(bytes: bytes) else { return }
            try? FileManager.default.removeItem(at: url(for: hash))
        }
        return doomed.count
    }

    /// Size and free space of the file system that holds the chunks.
    func fileSystem() -> (total: Int, free: Int) {
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let attributes = (try? FileManager.default.attributesOfFileSystem(forPath: root.path)) ?? [:]
        return (
            (attributes[.systemSize] as? NSNumber)?.intValue ?? 0,
            (attributes[.systemFreeSize] as? NSNumber)?.intValue ?? 0
        )
    }
}
