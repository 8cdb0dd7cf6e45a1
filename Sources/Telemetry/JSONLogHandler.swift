import Foundation
import Logging
import Synchronization

/// A swift-log handler that writes one JSON object per line (`--log-format json`), for log
/// shippers (Loki, Vector, journald's JSON view) that index fields instead of parsing text.
///
/// Each line has `ts` (RFC 3339 with milliseconds, UTC), `level`, `logger` (the label) and
/// `msg`, then the metadata as top-level string fields (`request_id`, `instance`, ...). A
/// metadata key that would shadow one of those four is written as `meta_<key>`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: Sink

    /// Where lines go: a file handle shared by every logger, written whole lines at a time.
    public final class Sink: Sendable {
        private let handle: Mutex<FileHandle>

        public init(_ handle: FileHandle) { self.handle = Mutex(handle) }

        public static let standardError = Sink(.standardError)

        func write(_ line: [UInt8]) {
            handle.withLock { $0.write(Data(line)) }
        }
    }

    public init(label: String, sink: Sink = .standardError, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        sink.write(Self.line(level: event.level, label: label, message: "\(event.message)", metadata: merged, date: Date()))
    }

    static let reserved: Set<String> = ["ts", "level", "logger", "msg"]

    /// One line, newline included.
    static func line(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, date: Date) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + message.utf8.count)
        out += Array(#"{"ts":"#.utf8)
        appendString(timestamp(date), to: &out)
        out += Array(#","level":"#.utf8)
        appendString(level.rawValue, to: &out)
        out += Array(#","logger":"#.utf8)
        appendString(label, to: &out)
        out += Array(#","msg":"#.utf8)
        appendString(message, to: &out)
        for key in metadata.keys.sorted() {
            out.append(UInt8(ascii: ","))
            appendString(reserved.contains(key) ? "meta_\(key)" : key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendString("\(metadata[key]!)", to: &out)
        }
        out += Array("}\n".utf8)
        return out
    }

    /// `value` as a JSON string literal.
    static func appendString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array(#"\u00"#.utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func timestamp(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var time = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
            Int(millis % 1000)
        )
    }
}
