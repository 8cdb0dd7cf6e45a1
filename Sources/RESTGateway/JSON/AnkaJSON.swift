import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Anka's response envelope and value formats.
///
/// Every response, errors included, is `{"status":"OK"|"FAIL","message":"...","body":...}`.
/// Bodies are `Encodable` values written by ``JSONBytesEncoder``.
enum AnkaJSON {
    /// `OK` with a body.
    static func ok<Body: Encodable>(_ body: Body, message: String = "") -> Response {
        response(.ok, AnkaEnvelope(status: "OK", message: message, body: .value(body)))
    }

    /// `OK` with no `body` key.
    static func ok(message: String = "") -> Response {
        response(.ok, AnkaEnvelope<Never?>(status: "OK", message: message, body: .absent))
    }

    /// `OK` with `"body": null`, where Anka sends one.
    static func okWithNullBody(message: String = "") -> Response {
        response(.ok, AnkaEnvelope<Never?>(status: "OK", message: message, body: .null))
    }

    static func fail(_ error: GatewayError, status: HTTPResponse.Status? = nil) -> Response {
        response(status ?? error.status, AnkaEnvelope<Never?>(status: "FAIL", message: error.message, body: .absent))
    }

    static func response(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let buffer =
            (try? JSONBytesEncoder.encode(value))
            ?? ByteBuffer(string: #"{"status":"FAIL","message":"response could not be encoded"}"#)
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }

    /// The headers of every JSON response.
    static var headers: HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return headers
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2024-01-24T16:51:56.935646Z`.
    /// Zero renders as Go's zero time, as Anka does for unset dates.
    static func timestamp(micros: Int) -> String {
        String(unsafeUninitializedCapacity: 27) { formatTimestamp(micros: micros, into: $0) }
    }

    /// Writes ``timestamp(micros:)``'s text into `text` (27 bytes or more) and returns its length.
    static func formatTimestamp(micros: Int, into text: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var index = 0
        func put(_ value: Int, digits: Int) {
            var value = value
            for position in stride(from: index + digits - 1, through: index, by: -1) {
                text[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            index += digits
        }
        func put(_ character: Unicode.Scalar) {
            text[index] = UInt8(ascii: character)
            index += 1
        }
        guard micros > 0 else {
            for byte in "0001-01-01T00:00:00Z".utf8 {
                text[index] = byte
                index += 1
            }
            return index
        }
        // The civil date from days since 1970 (Howard Hinnant's algorithm): no libc call,
        // no time-zone lock, for lists that format tens of thousands of these.
        let seconds = micros / 1_000_000
        let days = seconds / 86_400
        let secondOfDay = seconds % 86_400
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        put(year, digits: 4)
        put("-")
        put(month, digits: 2)
        put("-")
        put(day, digits: 2)
        put("T")
        put(secondOfDay / 3600, digits: 2)
        put(":")
        put(secondOfDay / 60 % 60, digits: 2)
        put(":")
        put(secondOfDay % 60, digits: 2)
        put(".")
        put(micros % 1_000_000, digits: 6)
        put("Z")
        return index
    }

    /// RAM as Anka prints it: `4G`, or `1536M` when not whole gigabytes.
    static func ram(megabytes: Int) -> String {
        megabytes % 1024 == 0 ? "\(megabytes / 1024)G" : "\(megabytes)M"
    }
}

/// `{"status":…,"message":…,"body":…}`, with `body` left out, `null`, or a value.
struct AnkaEnvelope<Body: Encodable>: Encodable {
    enum Content {
        case absent
        case null
        case value(Body)
    }

    let status: String
    let message: String
    let body: Content

    enum CodingKeys: String, CodingKey { case status, message, body }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(message, forKey: .message)
        switch body {
        case .absent: break
        case .null: try container.encodeNil(forKey: .body)
        case .value(let value): try container.encode(value, forKey: .body)
        }
    }
}
