import Crypto
import Foundation
import WireProtocol

/// The node's template cache: content-addressed chunks and the manifests of the versions
/// it holds.
///
/// ```
/// <root>/chunks/<sha-256 hex>                    one file per distinct chunk
/// <root>/manifests/<template id>/<number>.manifest   wire-encoded TemplateManifest
/// ```
/// A chunk is checked against its hash before it is kept, so a corrupt transfer never
/// enters the cache. Versions share chunks; removing a template deletes only chunks no
/// remaining version uses.
public actor TemplateCache {
    public let root: URL
    private var manifests: [String: [TemplateManifest]] = [:]
    private var chunkSizes: [ChunkHash: Int] = [:]

    public init(root: URL) {
        self.root = root
        let files = FileManager.default
        let chunksRoot = root.appendingPathComponent("chunks", isDirectory: true)
        let manifestsRoot = root.appendingPathComponent("manifests", isDirectory: true)
        var manifests: [String: [TemplateManifest]] = [:]
        var chunkSizes: [ChunkHash: Int] = [:]
        try? files.createDirectory(at: chunksRoot, withIntermediateDirectories: true)
        try? files.createDirectory(at: manifestsRoot, withIntermediateDirectories: true)
        for id in (try? files.contentsOfDirectory(atPath: manifestsRoot.path)) ?? [] {
            let directory = manifestsRoot.appendingPathComponent(id)
            for name in (try? files.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasSuffix(".manifest")
            {
                guard let data = files.contents(atPath: directory.appendingPathComponent(name).path),
                    let manifest = try? TemplateManifest(bytes: [UInt8](data))
                else { continue }
                manifests[id, default: []].append(manifest)
            }
        }
        for name in (try? files.contentsOfDirectory(atPath: chunksRoot.path)) ?? [] {
            guard let hash = ChunkHash(hex: name),
                let size = (try? files.attributesOfItem(atPath: chunksRoot.appendingPathComponent(name).path))?[.size]
                    as? NSNumber
            else { continue }
            chunkSizes[hash] = size.intValue
        }
        self.manifests = manifests
        self.chunkSizes = chunkSizes
    }

    nonisolated var chunksRoot: URL { root.appendingPathComponent("chunks", isDirectory: true) }
    nonisolated var manifestsRoot: URL { root.appendingPathComponent("manifests", isDirectory: true) }

    nonisolated func url(for hash: ChunkHash) -> URL { chunksRoot.appendingPathComponent(hash.hex) }

    /// The cached manifest of a version (`tag`, or the newest held when empty).
    public func manifest(templateID: String, tag: String) -> TemplateManifest? {
        let versions = manifests[templateID] ?? []
        if tag.isEmpty { return versions.max { $0.number < $1.number } }
        return versions.first { $0.tag == tag }
    }

    /// Versions held, with their sizes.
    public func held() -> [TemplateRef] {
        manifests.values.flatMap { $0 }
            .map { TemplateRef(templateID: $0.templateID, tag: $0.tag, name: $0.templateName, size: $0.totalSize) }
            .sorted { ($0.templateID, $0.tag) < ($1.templateID, $1.tag) }
    }

    /// Bytes of all cached chunks.
    public func bytes() -> Int { chunkSizes.values.reduce(0, +) }

    public func report() -> CacheReport { CacheReport(templates: held(), cacheBytes: bytes()) }

    /// The chunks of `manifest` not in the cache, with their sizes.
    public func missing(in manifest: TemplateManifest) -> [(hash: ChunkHash, size: Int)] {
        manifest.distinctChunks.filter { chunkSizes[$0.hash] == nil }
    }

    /// Keeps a chunk after checking it against its hash.
    public func store(_ data: [UInt8], as hash: ChunkHash) throws {
        guard Array(SHA256.hash(data: data)) == hash.bytes else {
            throw DriverError("chunk \(hash.hex) arrived corrupt (its SHA-256 does not match)")
        }
        guard chunkSizes[hash] == nil else { return }
        let target = url(for: hash)
        let temporary = chunksRoot.appendingPathComponent(".\(hash.hex).tmp")
        try Data(data).write(to: temporary)
        guard rename(temporary.path, target.path) == 0 else {
            throw DriverError("could not store chunk \(hash.hex) (errno \(errno))")
        }
        chunkSizes[hash] = data.count
    }

    /// Records a version whose chunks are all cached.
    public func add(_ manifest: TemplateManifest) throws {
        if let absent = missing(in: manifest).first {
            throw DriverError("chunk \(absent.hash.hex) of \(manifest.templateID):\(manifest.tag) is not cached")
        }
        let directory = manifestsRoot.appendingPathComponent(manifest.templateID, isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(manifest.encodedBytes()).write(
            to: directory.appendingPathComponent("\(manifest.number).manifest"),
            options: .atomic
        )
        manifests[manifest.templateID, default: []].removeAll { $0.number == manifest.number || $0.tag == manifest.tag }
        manifests[manifest.templateID, default: []].append(manifest)
    }

    /// Drops every version of a template and the chunks no other version uses.
    /// Returns whether it held any.
    @discardableResult
    public func remove(templateID: String) -> Bool {
        guard manifests.removeValue(forKey: templateID) != nil else { return false }
        try? FileManager.default.removeItem(at: manifestsRoot.appendingPathComponent(templateID, isDirectory: true))
        let used = Set(manifests.values.flatMap { $0 }.flatMap { $0.files.flatMap(\.chunks) })
        for hash in chunkSizes.keys where !used.contains(hash) {
            try? FileManager.default.removeItem(at: url(for: hash))
            chunkSizes.removeValue(forKey: hash)
        }
        return true
    }

    /// A cached chunk's bytes.
    public func read(_ hash: ChunkHash) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: url(for: hash).path) else {
            throw DriverError("chunk \(hash.hex) is not cached")
        }
        return [UInt8](data)
    }

    /// Writes a cached version's files under `directory`.
    public func materialize(_ manifest: TemplateManifest, into directory: URL) throws {
        let files = FileManager.default
        for file in manifest.files {
            guard ManifestFile.isSafe(file.path) else { throw DriverError("unsafe path \(file.path) in manifest") }
            let target = directory.appendingPathComponent(file.path)
            try files.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard files.createFile(atPath: target.path, contents: nil) else {
                throw DriverError("could not create \(target.path)")
            }
            let handle = try FileHandle(forWritingTo: target)
            defer { try? handle.close() }
            for hash in file.chunks {
                guard let data = files.contents(atPath: url(for: hash).path) else {
                    throw DriverError("chunk \(hash.hex) of \(file.path) is not cached")
                }
                try handle.write(contentsOf: data)
            }
        }
    }
}
