import Foundation
import TarFormat

/// The gateway's parsers of untrusted bytes, callable without a server: the entry points
/// of the libFuzzer harnesses in `FuzzTesting/`. Each must throw on bad input, never trap.
public enum GatewayFuzzing {
    /// Parses a request body as the JSON routes do, then reads it as a start request (every
    /// option) and reads common fields with every typed accessor. Returns the fields read.
    @discardableResult
    public static func parseRequestBody(_ bytes: [UInt8]) -> Int {
        guard let value = try? RequestJSON.parse(bytes) else { return 0 }
        let objects: [[String: Any]] =
            if let object = value as? [String: Any] { [object] } else { (value as? [Any])?.compactMap { $0 as? [String: Any] } ?? [] }
        var read = 0
        for fields in objects {
            let json = RequestJSON(fields: fields)
            if (try? StartOptionsJSON.parse(json)) != nil { read += 1 }
            for key in fields.keys {
                if (try? json.string(key)) != nil { read += 1 }
                if (try? json.int(key)) != nil { read += 1 }
                if (try? json.bool(key)) != nil { read += 1 }
                if (try? json.stringArray(key)) != nil { read += 1 }
                if (try? json.object(key)) != nil { read += 1 }
            }
        }
        return read
    }

    /// Feeds a tar stream to the push parser in pieces of `piece` bytes (as a body arrives)
    /// and returns the number of events; throws what the parser throws.
    @discardableResult
    public static func parseTar(_ bytes: [UInt8], piece: Int) throws -> Int {
        var parser = TarStreamParser()
        var events = 0
        var start = 0
        let step = max(1, piece)
        while start < bytes.count {
            let end = min(bytes.count, start + step)
            events += try parser.feed(bytes[start..<end]).count
            start = end
        }
        try parser.finish()
        return events
    }
}
