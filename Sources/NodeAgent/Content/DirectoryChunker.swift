import Crypto
import Foundation
import WireProtocol

/// Cuts the files under a directory into content-addressed chunks (save image).
///
/// Files are read sequentially once to hash them; ``read(_:)`` reads one chunk again by
/// its place, so an upload never holds more than the chunks in flight.
struct DirectoryChunker {
    struct Place {
        var path: String
        var offset: UInt64
        var length: Int
    }

    let directory: URL
    private(set) var manifest = TemplateManifest()
    private(set) var places: [ChunkHash: Place] = [:]

    /// - Parameter chunkSize: the chunk size for a path (the source version's, so unchanged
    ///   blocks hash the same and are not uploaded again).
    init(directory: URL, chunkSize: (String) -> Int) throws {
        self.directory = directory
        let files = FileManager.default
        guard let enumerator = files.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw DriverError("cannot read \(directory.path)")
        }
        var paths: [String] = []
        let base = directory.standardizedFileURL.path
        for case let url as URL in enumerator {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let full = url.standardizedFileURL.path
            guard full.hasPrefix(base + "/") else { continue }
            paths.append(String(full.dropFirst(base.count + 1)))
        }
        for path in paths.sorted() {
            let size = chunkSize(path)
            let handle = try FileHandle(forReadingFrom: directory.appendingPathComponent(path))
            defer { try? handle.close() }
            var hashes: [ChunkHash] = []
            var offset: UInt64 = 0
            while let data = try handle.read(upToCount: size), !data.isEmpty {
                let hash = ChunkHash(bytes: Array(SHA256.hash(data: data)))!
                hashes.append(hash)
                if places[hash] == nil { places[hash] = Place(path: path, offset: offset, length: data.count) }
                offset += UInt64(data.count)
            }
            manifest.files.append(ManifestFile(path: path, size: Int(offset), chunkSize: size, chunks: hashes))
        }
    }

    func read(_ hash: ChunkHash) throws -> [UInt8] {
        guard let place = places[hash] else { throw DriverError("no chunk \(hash.hex) in \(directory.path)") }
        let handle = try FileHandle(forReadingFrom: directory.appendingPathComponent(place.path))
        defer { try? handle.close() }
        try handle.seek(toOffset: place.offset)
        return [UInt8](try handle.read(upToCount: place.length) ?? Data())
    }
}
