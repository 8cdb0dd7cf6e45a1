// A REST client for issue 12's P5: `--rate` starts per second for `--seconds`, each a
// `POST /api/v1/vm` followed by `GET /berth/v1/vm/wait?state=Started`, timed from the
// moment the start was due (so a late client counts against the figure, never for it).
//
// scripts/bench-starts runs it for the rate phase when given `--rate-client`. It exists
// because the Python client (urllib: a new TCP connection per call, a thread per start,
// one interpreter lock) added milliseconds of its own to every start: on keep-alive
// connections the same start measured p50 4.3 ms against 7-10 ms.
//
//   swift run -c release StartLatency --url http://127.0.0.1:PORT --auth 'Basic …' \
//       --template ID --rate 100 --seconds 10
//
// Prints one JSON object: {"latencies_ms": [...], "posts_ms": [...], "due_s": [...], "instances": [...]}
// (`posts_ms`: the part of each latency until the POST was answered).
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

struct Options {
    var url = ""
    var auth = ""
    var template = ""
    var rate = 100.0
    var seconds = 10.0

    init(_ arguments: [String]) throws {
        var rest = arguments.makeIterator()
        while let flag = rest.next() {
            guard let value = rest.next() else { throw Failure("\(flag) needs a value") }
            switch flag {
            case "--url": url = value
            case "--auth": auth = value
            case "--template": template = value
            case "--rate": rate = Double(value) ?? rate
            case "--seconds": seconds = Double(value) ?? seconds
            default: throw Failure("unknown flag \(flag)")
            }
        }
        guard !url.isEmpty, !template.isEmpty, rate > 0, seconds > 0 else {
            throw Failure("usage: StartLatency --url URL --auth HEADER --template ID [--rate N] [--seconds S]")
        }
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct Envelope<Body: Decodable>: Decodable {
    var status: String
    var message: String?
    var body: Body?
}

struct Started: Sendable {
    var latencyMs: Double
    /// Of which the POST (created and durable, answered).
    var postMs: Double
    /// When it was due, in seconds after the first start was.
    var dueS: Double
    var instance: String
}

func call<Body: Decodable>(
    _ client: HTTPClient,
    _ method: HTTPMethod,
    _ url: String,
    auth: String,
    body: String? = nil,
    as: Body.Type
) async throws -> Body {
    var request = HTTPClientRequest(url: url)
    request.method = method
    request.headers.add(name: "Authorization", value: auth)
    if let body { request.body = .bytes(ByteBuffer(string: body)) }
    let response = try await client.execute(request, timeout: .seconds(130))
    let bytes = try await response.body.collect(upTo: 1 << 20)
    let envelope = try JSONDecoder().decode(Envelope<Body>.self, from: Data(bytes.readableBytesView))
    guard envelope.status == "OK", let value = envelope.body else {
        throw Failure("\(method) \(url): \(response.status) \(envelope.message ?? "")")
    }
    return value
}

@main
enum StartLatency {
    static func main() async throws {
        let options = try Options(Array(CommandLine.arguments.dropFirst()))
        var configuration = HTTPClient.Configuration()
        // Enough keep-alive connections that no start waits for one.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let count = Int(options.rate * options.seconds)
        let clock = ContinuousClock()
        let begin = clock.now + .milliseconds(300)
        let interval = Duration.seconds(1 / options.rate)
        let startBody = #"{"vmid":"\#(options.template)","count":1}"#
        // Warm the pool: a few connections open before the clock starts.
        _ = try? await call(client, .GET, options.url + "/api/v1/status", auth: options.auth, as: [String: String].self)
        let results = try await withThrowingTaskGroup(of: Started.self) { group in
            for index in 0..<count {
                let due = begin + interval * index
                try await clock.sleep(until: due)
                group.addTask {
                    let ids = try await call(
                        client, .POST, options.url + "/api/v1/vm", auth: options.auth, body: startBody, as: [String].self)
                    guard let id = ids.first else { throw Failure("no instance id") }
                    let posted = clock.now - due
                    _ = try await call(
                        client, .GET, options.url + "/berth/v1/vm/wait?id=\(id)&state=Started&timeout=120",
                        auth: options.auth, as: AnyBody.self)
                    return Started(latencyMs: milliseconds(clock.now - due), postMs: milliseconds(posted), dueS: Double(index) / options.rate, instance: id)
                }
            }
            var all: [Started] = []
            for try await result in group { all.append(result) }
            return all
        }
        try await client.shutdown()
        let output: [String: [String]] = [
            "latencies_ms": results.map { String(format: "%.3f", $0.latencyMs) },
            "posts_ms": results.map { String(format: "%.3f", $0.postMs) },
            "due_s": results.map { String(format: "%.3f", $0.dueS) },
            "instances": results.map(\.instance),
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: output), as: UTF8.self))
    }
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

/// Any JSON body: the wait call's answer is read only for its status.
struct AnyBody: Decodable {
    init(from decoder: any Decoder) throws {}
}
