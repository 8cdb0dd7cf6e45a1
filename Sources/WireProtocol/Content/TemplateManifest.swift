/// The content of one template version: its files, each a list of content-addressed chunks.
///
/// A chunk is named by the SHA-256 of its bytes. Files are cut into chunks of `chunkSize`
/// bytes (the last one shorter), so a version that changes a few blocks of a disk image
/// shares every other chunk with the version before it, and a node that holds the older
/// one fetches only what changed.
public struct TemplateManifest: WireCodable, Equatable, Sendable {
    public var templateID: String
    public var tag: String
    public var number: Int
    public var files: [ManifestFile]
    public var templateName: String

    public init(
        templateID: String = "",
        tag: String = "",
        number: Int = 0,
        files: [ManifestFile] = [],
        templateName: String = ""
    ) {
        self.templateID = templateID
        self.tag = tag
        self.number = number
        self.files = files
        self.templateName = templateName
    }

    /// Bytes of all files.
    public var totalSize: Int { files.reduce(0) { $0 + $1.size } }

    /// Every distinct chunk with its size, in first-use order.
    public var distinctChunks: [(hash: ChunkHash, size: Int)] {
        var seen = Set<ChunkHash>()
        var result: [(hash: ChunkHash, size: Int)] = []
        for file in files {
            for (index, hash) in file.chunks.enumerated() where seen.insert(hash).inserted {
                result.append((hash, file.chunkLength(at: index)))
            }
        }
        return result
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, templateID)
        w.write(2, tag)
        w.write(3, number)
        w.write(4, files)
        w.write(5, templateName)
    }

    public init(from r: inout PayloadReader) throws {
        self.init()
        while let tag = try r.next() {
            switch tag.number {
            case 1: templateID = try r.string(tag)
            case 2: self.tag = try r.string(tag)
            case 3: number = try r.int(tag)
            case 4: files.append(try r.message(tag))
            case 5: templateName = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// One file of a template version.
public struct ManifestFile: WireCodable, Equatable, Sendable {
    /// Relative path with `/` separators; never absolute, never `..`.
    public var path: String
    public var size: Int
    public var chunkSize: Int
    public var chunks: [ChunkHash]

    public init(path: String, size: Int, chunkSize: Int, chunks: [ChunkHash]) {
        self.path = path
        self.size = size
        self.chunkSize = chunkSize
        self.chunks = chunks
    }

    /// Bytes in chunk `index`: `chunkSize`, except the last one.
    public func chunkLength(at index: Int) -> Int {
        min(chunkSize, size - index * chunkSize)
    }

    /// Whether `path` is a safe relative path (no root, no `..`, no empty parts).
    public static func isSafe(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), path.utf8.count <= 1024 else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, path)
        w.write(2, size)
        w.write(3, chunkSize)
        w.write(4, bytes: chunks.flatMap(\.bytes))
    }

    public init(from r: inout PayloadReader) throws {
        self.init(path: "", size: 0, chunkSize: 0, chunks: [])
        while let tag = try r.next() {
            switch tag.number {
            case 1: path = try r.string(tag)
            case 2: size = try r.int(tag)
            case 3: chunkSize = try r.int(tag)
            case 4: chunks = try ChunkHash.split(try r.bytes(tag))
            default: try r.skip(tag)
            }
        }
        let expected = chunkSize > 0 ? (size + chunkSize - 1) / chunkSize : 0
        guard chunkSize > 0 || size == 0, chunks.count == expected else {
            throw WireError(.invalidValue, "file \(path): \(chunks.count) chunks for \(size) bytes")
        }
    }
}

/// The SHA-256 of a chunk's bytes.
public struct ChunkHash: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let length = 32
    /// The largest chunk: one frame's payload less room for the message around it.
    public static let maximumChunkSize = Frame.defaultMaxPayloadSize - 4096
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = bytes
    }

    /// Parses 64 lowercase or uppercase hex digits.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == Self.length * 2 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.length)
        for index in stride(from: 0, to: utf8.count, by: 2) {
            guard let high = Self.nibble(utf8[index]), let low = Self.nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    public var hex: String {
        Hex.lowercase(bytes)
    }

    public var description: String { hex }

    public static func < (a: ChunkHash, b: ChunkHash) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// Splits concatenated hashes.
    public static func split(_ bytes: [UInt8]) throws -> [ChunkHash] {
        guard bytes.count % length == 0 else {
            throw WireError(.invalidValue, "chunk list of \(bytes.count) bytes is not a multiple of \(length)")
        }
        return stride(from: 0, to: bytes.count, by: length).map { ChunkHash(bytes: Array(bytes[$0..<$0 + length]))! }
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
