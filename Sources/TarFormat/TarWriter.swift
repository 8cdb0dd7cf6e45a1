import Foundation

/// Writes a ustar archive to a file handle, one regular file at a time, streaming each
/// file's bytes without holding it whole. `tar -tf` and ``TarStreamParser`` read the result.
///
/// Paths longer than ustar's 100 bytes are split at a slash into its 155-byte prefix; sizes
/// past the 11 octal digits of ustar (8 GiB) use GNU's base-256 form, as GNU and BSD tar do.
public struct TarWriter {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private let output: FileHandle

    public init(output: FileHandle) {
        self.output = output
    }

    /// Adds a file whose bytes are `data`.
    public mutating func add(path: String, data: [UInt8], mode: Int = 0o600, modified: Date = Date()) throws {
        try writeHeader(path: path, size: data.count, mode: mode, modified: modified)
        try write(data)
        try pad(data.count)
    }

    /// Adds the file at `source` under `path`, copying it in blocks. The file must not change
    /// size while it is copied (a file that shrinks is an error, not a short entry).
    /// Returns the file's size.
    @discardableResult
    public mutating func add(path: String, contentsOf source: URL, mode: Int = 0o600) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: source.path)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = attributes[.modificationDate] as? Date ?? Date()
        let input = try FileHandle(forReadingFrom: source)
        defer { try? input.close() }
        try writeHeader(path: path, size: size, mode: mode, modified: modified)
        var remaining = size
        while remaining > 0 {
            let block = try input.read(upToCount: min(remaining, 1 << 20)) ?? Data()
            guard !block.isEmpty else {
                throw Failure(description: "\(source.path) shrank while it was archived (\(remaining) bytes short)")
            }
            try write(block)
            remaining -= block.count
        }
        try pad(size)
        return size
    }

    /// Ends the archive with its two zero blocks.
    public mutating func finish() throws {
        try write([UInt8](repeating: 0, count: 1024))
    }

    private mutating func writeHeader(path: String, size: Int, mode: Int, modified: Date) throws {
        var header = [UInt8](repeating: 0, count: 512)
        let (prefix, name) = try Self.split(path)
        header.replaceSubrange(0..<name.count, with: name)
        Self.octal(mode, into: &header, at: 100, width: 8)
        Self.octal(0, into: &header, at: 108, width: 8)  // uid
        Self.octal(0, into: &header, at: 116, width: 8)  // gid
        if size < 0o77777777777 {
            Self.octal(size, into: &header, at: 124, width: 12)
        } else {
            header[124] = 0x80
            var value = size
            for index in stride(from: 135, to: 124, by: -1) {
                header[index] = UInt8(truncatingIfNeeded: value)
                value >>= 8
            }
        }
        Self.octal(max(0, Int(modified.timeIntervalSince1970)), into: &header, at: 136, width: 12)
        header[156] = UInt8(ascii: "0")
        header.replaceSubrange(257..<263, with: Array("ustar\0".utf8))
        header.replaceSubrange(263..<265, with: Array("00".utf8))
        header.replaceSubrange(345..<345 + prefix.count, with: prefix)
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int($1) }
        Self.octal(sum, into: &header, at: 148, width: 7)
        try write(header)
    }

    /// ustar's name (100 bytes) and prefix (155 bytes), split at a slash.
    private static func split(_ path: String) throws -> (prefix: [UInt8], name: [UInt8]) {
        let bytes = Array(path.utf8)
        if bytes.count <= 100 { return ([], bytes) }
        for index in bytes.indices.reversed() where bytes[index] == UInt8(ascii: "/") {
            if index <= 155, bytes.count - index - 1 <= 100, index > 0 {
                return (Array(bytes[..<index]), Array(bytes[(index + 1)...]))
            }
        }
        throw Failure(description: "the path \(path) is too long for a ustar archive")
    }

    /// Writes `value` as zero-padded octal digits followed by a NUL, `width` bytes in all.
    private static func octal(_ value: Int, into header: inout [UInt8], at offset: Int, width: Int) {
        let digits = Array(String(value, radix: 8).utf8)
        let padded = [UInt8](repeating: UInt8(ascii: "0"), count: max(0, width - 1 - digits.count)) + digits
        header.replaceSubrange(offset..<offset + width - 1, with: padded.suffix(width - 1))
        header[offset + width - 1] = 0
    }

    private mutating func pad(_ size: Int) throws {
        let padding = (512 - size % 512) % 512
        if padding > 0 { try write([UInt8](repeating: 0, count: padding)) }
    }

    private func write(_ bytes: some DataProtocol) throws {
        try output.write(contentsOf: bytes)
    }
}
