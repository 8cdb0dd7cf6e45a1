import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The client commands' REST calls: one request, the envelope decoded, a FAIL turned into an
/// error carrying the API's message (and the command's exit status 1).
struct APIClient: Sendable {
    let target: GatewayTarget
    let http: HTTPClient

    init(_ target: GatewayTarget) throws {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(660))
        if let path = target.caCertificate {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(path)
            configuration.tlsConfiguration = tls
        }
        self.target = target
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The API's answer: the envelope's body (or the whole JSON when it has no envelope).
    struct Answer: @unchecked Sendable {
        let json: Any
        let raw: Data
        var body: Any? { (json as? [String: Any])?["body"] }
        var message: String { (json as? [String: Any])?["message"] as? String ?? "" }
    }

    /// Calls `method path` with an optional JSON body; throws on FAIL, on a non-JSON answer
    /// and when the gateway cannot be reached.
    func call(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil, raw: [UInt8]? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: target.address.trimmingCharacters(in: ["/"]) + path)
        request.method = method
        if let authorization = PortForwarder.authorization(target.token) {
            request.headers.add(name: "Authorization", value: authorization)
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        } else if let raw {
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.body = .bytes(ByteBuffer(bytes: raw))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(660))
        } catch {
            throw CommandFailure("cannot reach the gateway at \(target.address): \(error)")
        }
        let bytes = try await response.body.collect(upTo: 256 << 20)
        let data = Data(buffer: bytes)
        guard let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            throw CommandFailure("\(method) \(path): HTTP \(response.status.code), not JSON: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        let answer = Answer(json: json, raw: data)
        if let envelope = json as? [String: Any], envelope["status"] as? String == "FAIL" {
            let message = envelope["message"] as? String ?? "failed"
            throw CommandFailure(response.status.code == 401 ? "\(message) (set BERTH_TOKEN or --token)" : message)
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            throw CommandFailure("\(method) \(path): HTTP \(response.status.code)")
        }
        return answer
    }

    /// PUTs raw bytes (a chunk); throws on FAIL as ``call(_:_:body:)`` does.
    func upload(_ path: String, bytes: [UInt8]) async throws -> Answer {
        try await call(.PUT, path, raw: bytes)
    }

    func shutdown() async { try? await http.shutdown() }

    /// Runs `body` with a client for `options`, shut down after.
    static func with<T>(_ options: GatewayOptions, _ body: (APIClient) async throws -> T) async throws -> T {
        let client = try APIClient(try options.resolve())
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

/// Printing the API's answers: JSON as the API gave it, or aligned columns.
enum ClientOutput {
    static func printJSON(_ value: Any?) {
        guard let value, JSONSerialization.isValidJSONObject(value) || value is String || value is NSNumber else {
            print("null")
            return
        }
        if let data = try? JSONSerialization.data(
            withJSONObject: value,
            options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]
        ) {
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// Columns padded to their widest cell.
    static func printTable(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { column in
            ([header[column]] + rows.map { column < $0.count ? $0[column] : "" }).map(\.count).max() ?? 0
        }
        for row in [header] + rows {
            let cells = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            print(cells.joined(separator: "  "))
        }
    }

    /// `key: value` lines of an object's scalar fields, in key order.
    static func printFields(_ object: [String: Any]) {
        for key in object.keys.sorted() {
            let value = object[key]!
            if value is [Any] || value is [String: Any] {
                print("\(key): \(compact(value))")
            } else {
                print("\(key): \(string(value))")
            }
        }
    }

    static func string(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: ""
        case let text as String: text
        // JSON booleans arrive as NSNumbers of type "c" (char); numbers as "q", "d".
        case let number as NSNumber where String(cString: number.objCType) == "c": number.boolValue ? "true" : "false"
        case let number as NSNumber: number.stringValue
        default: compact(value!)
        }
    }

    static func compact(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }
}
