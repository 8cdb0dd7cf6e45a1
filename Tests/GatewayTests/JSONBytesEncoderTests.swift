import Foundation
import NIOCore
import NodeAgent
import Testing

@testable import RESTGateway

/// The gateway's one-pass JSON encoder, checked against Foundation on random values.
@Suite struct JSONBytesEncoderTests {
    /// A JSON value that encodes through every container kind Codable offers.
    indirect enum Value: Encodable, Equatable {
        case null, bool(Bool), int(Int), double(Double), string(String)
        case array([Value]), object([(String, Value)]), nested([(String, Value)])

        static func == (a: Value, b: Value) -> Bool { "\(a)" == "\(b)" }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .null:
                var c = encoder.singleValueContainer()
                try c.encodeNil()
            case .bool(let value):
                var c = encoder.singleValueContainer()
                try c.encode(value)
            case .int(let value):
                var c = encoder.singleValueContainer()
                try c.encode(value)
            case .double(let value):
                var c = encoder.singleValueContainer()
                try c.encode(value)
            case .string(let value):
                var c = encoder.singleValueContainer()
                try c.encode(value)
            case .array(let values):
                var c = encoder.unkeyedContainer()
                for value in values { try c.encode(value) }
            case .object(let fields):
                var c = encoder.container(keyedBy: JSONKey.self)
                for (key, value) in fields { try c.encode(value, forKey: JSONKey(key)) }
            case .nested(let fields):
                // Each field's value written through nested containers rather than encode(_:).
                var c = encoder.container(keyedBy: JSONKey.self)
                for (key, value) in fields {
                    switch value {
                    case .array(let items):
                        var inner = c.nestedUnkeyedContainer(forKey: JSONKey(key))
                        for item in items { try inner.encode(item) }
                    case .object(let inner), .nested(let inner):
                        var object = c.nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey(key))
                        for (innerKey, innerValue) in inner {
                            try object.encode(innerValue, forKey: JSONKey(innerKey))
                        }
                    default:
                        try value.encode(to: c.superEncoder(forKey: JSONKey(key)))
                    }
                }
            }
        }
    }

    static let awkward = [
        "", "plain", "quote\"back\\slash", "tab\tnew\nline\r", "\u{0}\u{1f}\u{7f}", "é ünï 😀", "a/b", "\u{2028}",
    ]

    static func random(_ rng: inout SplitMix64, depth: Int) -> Value {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 8), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2:
            let choices = [0, -1, 7, Int.max, Int.min, Int.random(in: -1_000_000...1_000_000, using: &rng)]
            return .int(choices.randomElement(using: &rng)!)
        case 3:
            let choices = [0.5, -2.25, 1e-7, 123456.789, 3, Double.random(in: -1e6...1e6, using: &rng)]
            return .double(choices.randomElement(using: &rng)!)
        case 4: return .string(awkward.randomElement(using: &rng)! + String(Int.random(in: 0..<100, using: &rng)))
        case 5:
            return .array((0..<Int.random(in: 0..<4, using: &rng)).map { _ in random(&rng, depth: depth + 1) })
        case 6:
            return .object(
                (0..<Int.random(in: 0..<4, using: &rng)).map { i in
                    ("k\(i)\(awkward[i % awkward.count])", random(&rng, depth: depth + 1))
                }
            )
        default:
            return .nested(
                (0..<Int.random(in: 0..<4, using: &rng)).map { i in ("n\(i)", random(&rng, depth: depth + 1)) }
            )
        }
    }

    /// Parsed back, our bytes and Foundation's mean the same JSON.
    @Test func randomValuesParseAsFoundationEncodesThem() throws {
        var rng = SplitMix64(seed: 20261203)
        for _ in 0..<2_000 {
            let value = Self.random(&rng, depth: 0)
            let ours = try JSONBytesEncoder.encode(value)
            let oursData = Data(ours.readableBytesView)
            let theirs = try JSONEncoder().encode(value)
            let parsedOurs = try JSONSerialization.jsonObject(with: oursData, options: [.fragmentsAllowed])
            let parsedTheirs = try JSONSerialization.jsonObject(with: theirs, options: [.fragmentsAllowed])
            let options: JSONSerialization.WritingOptions = [.sortedKeys, .fragmentsAllowed]
            #expect(
                try JSONSerialization.data(withJSONObject: parsedOurs, options: options)
                    == JSONSerialization.data(withJSONObject: parsedTheirs, options: options),
                "\(String(decoding: oursData, as: UTF8.self)) vs \(String(decoding: theirs, as: UTF8.self))"
            )
        }
    }

    @Test func scalarsAreWrittenCompactly() throws {
        func text(_ value: some Encodable) throws -> String { String(buffer: try JSONBytesEncoder.encode(value)) }
        #expect(try text("a/b\"c\u{1}") == #""a/b\"c\u0001""#)
        #expect(try text([1.0, 0.5, -3]) == "[1,0.5,-3]")
        #expect(try text([Double.nan, .infinity]) == "[null,null]")
        #expect(try text(Int.min) == "-9223372036854775808")
        #expect(try text(UInt64.max) == "18446744073709551615")
        #expect(try text([String: Int]()) == "{}")
        #expect(try text([[Int]]()) == "[]")
        #expect(try text(RawJSON(text: #"{"a":[1,2]}"#)) == #"{"a":[1,2]}"#)
        #expect(try text(["x": RawJSON(text: "[true]")]) == #"{"x":[true]}"#)
        let optional: Int? = nil
        #expect(try text(optional) == "null")
    }

    @Test func envelopesKeepTheirKeysInOrder() throws {
        let ok = AnkaEnvelope(status: "OK", message: "", body: .value([1, 2]))
        #expect(String(buffer: try JSONBytesEncoder.encode(ok)) == #"{"status":"OK","message":"","body":[1,2]}"#)
        let null = AnkaEnvelope<Never?>(status: "OK", message: "m", body: .null)
        #expect(String(buffer: try JSONBytesEncoder.encode(null)) == #"{"status":"OK","message":"m","body":null}"#)
        let absent = AnkaEnvelope<Never?>(status: "FAIL", message: "no", body: .absent)
        #expect(String(buffer: try JSONBytesEncoder.encode(absent)) == #"{"status":"FAIL","message":"no"}"#)
    }

    @Test func timestampsMatchRFC3339WithMicroseconds() {
        #expect(AnkaJSON.timestamp(micros: 0) == "0001-01-01T00:00:00Z")
        #expect(AnkaJSON.timestamp(micros: 1_706_115_116_935_646) == "2024-01-24T16:51:56.935646Z")
        #expect(AnkaJSON.timestamp(micros: 1_000_001) == "1970-01-01T00:00:01.000001Z")
        #expect(AnkaJSON.timestamp(micros: 253_402_300_799_999_999) == "9999-12-31T23:59:59.999999Z")
        // Against Foundation's formatter, at random instants.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        var rng = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let micros = Int.random(in: 1...4_102_444_800_000_000, using: &rng)
            let date = Date(timeIntervalSince1970: Double(micros / 1_000_000))
            let fraction = String(String(micros % 1_000_000 + 1_000_000).dropFirst())
            let expected = formatter.string(from: date) + "." + fraction + "Z"
            #expect(AnkaJSON.timestamp(micros: micros) == expected)
        }
    }
}
