/// Reads a tar stream (ustar, GNU and pax) as it arrives, without holding whole files.
///
/// Feed it bytes; it returns what it found: a regular file's start (with its path and
/// size), slices of its data, and its end. Directories, links and other entries are
/// skipped; GNU long names (`L`) and pax `path`/`size` records are honoured.
public struct TarStreamParser {
    public enum Event: Equatable, Sendable {
        case fileStart(path: String, size: Int)
        case data([UInt8])
        case fileEnd
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    private enum State {
        case header
        /// Data of the current entry: bytes left, padding after, and what to do with it.
        case body(remaining: Int, padding: Int, kind: BodyKind)
        case padding(Int)
        case finished
    }

    private enum BodyKind {
        case file
        case longName
        case pax
        case skip
    }

    private var state = State.header
    private var buffer: [UInt8] = []
    private var metadata: [UInt8] = []
    private var pendingPath: String?
    private var pendingSize: Int?
    private var sawAnything = false

    public init() {}

    /// Consumes bytes and returns the events they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws -> [Event] {
        if !sawAnything, !bytes.isEmpty {
            sawAnything = true
            if bytes.starts(with: [0x1F, 0x8B]) {
                throw Failure(description: "the body is gzip-compressed; send an uncompressed tar (tar -cf, not -czf)")
            }
        }
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        var cursor = 0
        defer { buffer.removeFirst(cursor) }
        loop: while true {
            switch state {
            case .finished:
                cursor = buffer.count
                break loop
            case .padding(let count):
                let take = min(count, buffer.count - cursor)
                cursor += take
                if take < count {
                    state = .padding(count - take)
                    break loop
                }
                state = .header
            case .header:
                guard buffer.count - cursor >= 512 else { break loop }
                let header = Array(buffer[cursor..<cursor + 512])
                cursor += 512
                if header.allSatisfy({ $0 == 0 }) {
                    state = .finished
                    continue
                }
                try startEntry(header, events: &events)
            case .body(let remaining, let padding, let kind):
                let take = min(remaining, buffer.count - cursor)
                if take > 0 {
                    let slice = Array(buffer[cursor..<cursor + take])
                    cursor += take
                    switch kind {
                    case .file: events.append(.data(slice))
                    case .longName, .pax: metadata.append(contentsOf: slice)
                    case .skip: break
                    }
                }
                if take < remaining {
                    state = .body(remaining: remaining - take, padding: padding, kind: kind)
                    break loop
                }
                switch kind {
                case .file: events.append(.fileEnd)
                case .longName: pendingPath = String(decoding: metadata.prefix { $0 != 0 }, as: UTF8.self)
                case .pax: try readPax()
                case .skip: break
                }
                metadata = []
                state = .padding(padding)
            }
        }
        return events
    }

    /// Call at the end of the stream: a stream that stops inside an entry is truncated.
    public func finish() throws {
        switch state {
        case .header, .finished: return
        case .padding: return
        case .body: throw Failure(description: "the tar stream ends inside an entry (truncated upload?)")
        }
    }

    private mutating func startEntry(_ header: [UInt8], events: inout [Event]) throws {
        let checksum = Self.octal(header[148..<156])
        let sum = header.enumerated().reduce(0) { $0 + (148..<156 ~= $1.offset ? 32 : Int($1.element)) }
        guard checksum == sum else { throw Failure(description: "not a tar stream (header checksum mismatch)") }
        let type = header[156]
        var size = Self.size(header[124..<136])
        if let override = pendingSize, type != UInt8(ascii: "x"), type != UInt8(ascii: "L") { size = override }
        let padding = (512 - size % 512) % 512
        switch type {
        case UInt8(ascii: "L"):
            guard size <= 64 * 1024 else { throw Failure(description: "a long file name over 64 KiB") }
            state = .body(remaining: size, padding: padding, kind: .longName)
        case UInt8(ascii: "x"):
            guard size <= 1024 * 1024 else { throw Failure(description: "a pax header over 1 MiB") }
            state = .body(remaining: size, padding: padding, kind: .pax)
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
            var path = pendingPath ?? Self.path(header)
            pendingPath = nil
            pendingSize = nil
            while path.hasPrefix("./") { path.removeFirst(2) }
            events.append(.fileStart(path: path, size: size))
            if size == 0 {
                events.append(.fileEnd)
                state = .header
            } else {
                state = .body(remaining: size, padding: padding, kind: .file)
            }
        default:
            pendingPath = nil
            pendingSize = nil
            state = size > 0 ? .body(remaining: size, padding: padding, kind: .skip) : .header
        }
    }

    /// pax records: "<length> <key>=<value>\n".
    private mutating func readPax() throws {
        var rest = metadata[...]
        while !rest.isEmpty {
            guard let space = rest.firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: rest[rest.startIndex..<space], as: UTF8.self)),
                // The record runs past its length field and the space ("2 x" cannot be one).
                length > rest.distance(from: rest.startIndex, to: space) + 1,
                length <= rest.count
            else { throw Failure(description: "a malformed pax header") }
            let record = rest[rest.index(after: space)..<rest.startIndex + length].dropLast()  // drop "\n"
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
                let value = String(decoding: record[record.index(after: equals)...], as: UTF8.self)
                if key == "path" { pendingPath = value }
                if key == "size", let size = Int(value), size >= 0 { pendingSize = size }
            }
            rest = rest[(rest.startIndex + length)...]
        }
    }

    private static func path(_ header: [UInt8]) -> String {
        let name = String(decoding: header[0..<100].prefix { $0 != 0 }, as: UTF8.self)
        let isUstar = header[257..<262].elementsEqual("ustar".utf8)
        let prefix = isUstar ? String(decoding: header[345..<500].prefix { $0 != 0 }, as: UTF8.self) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    private static func size(_ field: ArraySlice<UInt8>) -> Int {
        // GNU base-256 for sizes over 8 GiB: the high bit of the first byte is set.
        if let first = field.first, first & 0x80 != 0 {
            return field.dropFirst().reduce(Int(first & 0x7F)) { $0 << 8 | Int($1) }
        }
        return octal(field)
    }

    private static func octal(_ field: ArraySlice<UInt8>) -> Int {
        var value = 0
        for byte in field {
            if byte == 0 || byte == UInt8(ascii: " ") {
                if value > 0 { break } else { continue }
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) else { break }
            value = value * 8 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
