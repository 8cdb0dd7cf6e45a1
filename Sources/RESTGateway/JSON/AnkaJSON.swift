import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Anka's response envelope and value formats.
///
/// Every response, errors included, is `{"status":"OK"|"FAIL","message":"...","body":...}`.
enum AnkaJSON {
    static func ok(_ body: Any? = nil, message: String = "") -> Response {
        var object: [String: Any] = ["status": "OK", "message": message]
        if let body { object["body"] = body }
        return response(.ok, object)
    }

    static func fail(_ error: GatewayError) -> Response {
        response(error.status, ["status": "FAIL", "message": error.message])
    }

    static func response(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2024-01-24T16:51:56.935646Z`.
    /// Zero renders as Go's zero time, as Anka does for unset dates.
    static func timestamp(micros: Int) -> String {
        guard micros > 0 else { return "0001-01-01T00:00:00Z" }
        var seconds = time_t(micros / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let fraction = micros % 1_000_000
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
            Int(parts.tm_year) + 1900,
            Int(parts.tm_mon) + 1,
            Int(parts.tm_mday),
            Int(parts.tm_hour),
            Int(parts.tm_min),
            Int(parts.tm_sec),
            fraction
        )
    }

    /// RAM as Anka prints it: `4G`, or `1536M` when not whole gigabytes.
    static func ram(megabytes: Int) -> String {
        megabytes % 1024 == 0 ? "\(megabytes / 1024)G" : "\(megabytes)M"
    }
}
