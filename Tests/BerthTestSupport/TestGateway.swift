import Foundation
import Logging
import RESTGateway
import WireProtocol

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real REST gateway on a loopback port, connected to a ``TestControlPlane``.
public final class TestGateway: Sendable {
    public let port: Int
    public let rootToken: String?
    let task: Task<Void, any Error>

    init(port: Int, rootToken: String?, task: Task<Void, any Error>) {
        self.port = port
        self.rootToken = rootToken
        self.task = task
    }

    public static func start(
        _ cp: TestControlPlane,
        rootToken: String? = nil,
        name: String = "gw",
        tls: GatewayTLS? = nil,
        logger: Logger? = nil,
        configure: (inout GatewayConfiguration) -> Void = { _ in }
    ) async throws -> TestGateway {
        let identity = try await cp.controlPlane.issueGatewayIdentity(name: name)
        let client = ControlPlaneClient(
            configuration: .init(
                host: "127.0.0.1",
                port: cp.port,
                identity: identity,
                trustRoot: cp.authority.certificate
            ),
            logger: TestLogging.logger("gateway.client")
        )
        return try await start(client: client, rootToken: rootToken, tls: tls, logger: logger, configure: configure)
    }

    /// Starts a gateway on `client` (not yet running; the gateway runs it).
    public static func start(
        client: ControlPlaneClient,
        rootToken: String? = nil,
        tls: GatewayTLS? = nil,
        logger: Logger? = nil,
        configure: (inout GatewayConfiguration) -> Void = { _ in }
    ) async throws -> TestGateway {
        var configuration = GatewayConfiguration()
        configuration.port = 0
        configuration.rootToken = rootToken
        configuration.tls = tls
        configure(&configuration)
        let gateway = Gateway(
            configuration: configuration,
            client: client,
            logger: logger ?? TestLogging.logger("gateway")
        )
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await gateway.run { port in continuation.yield(port) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestTimeout(what: "gateway port") }
        // Serve tests only once the gateway's own connection to the control plane is up, so a
        // loaded machine does not turn a test's first call into a 503. Each try waits for the
        // connection (up to the client's connect wait); it does not poll a timer.
        var connected = false
        for _ in 0..<6 where !connected {
            connected = (try? await client.call(RPCCatalog.status, principal: .root, body: Empty()))?.status == .ok
        }
        guard connected else { throw TestTimeout(what: "the gateway's connection to the control plane") }
        return TestGateway(port: port, rootToken: rootToken, task: task)
    }

    public var base: String { "http://127.0.0.1:\(port)" }

    /// A client that sends the root token as Basic `root:<token>`.
    public var http: HTTPTestClient {
        HTTPTestClient(
            base: base,
            authorization: rootToken.map { "Basic " + Data("root:\($0)".utf8).base64EncodedString() }
        )
    }

    public func stop() async {
        task.cancel()
        _ = await task.result
    }
}

/// A plain HTTP/1.1 client (URLSession) that sends bodies as curl's `-d` does.
public struct HTTPTestClient: Sendable {
    public var base: String
    public var authorization: String?

    public init(base: String, authorization: String?) {
        self.base = base
        self.authorization = authorization
    }

    public struct Reply: Sendable {
        public var status: Int
        public var data: Data
        public var contentType: String
        /// Response headers, names lowercased.
        public var headers: [String: String] = [:]

        /// The body as a JSON object (the envelope).
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        }

        public var text: String { String(decoding: data, as: UTF8.self) }

        /// HTTP 200 with the FAIL envelope: how the Anka surface answers a request that was
        /// understood but fails on its merits (AUTH.md).
        public var failedOnItsMerits: Bool { status == 200 && json["status"] as? String == "FAIL" }
    }

    public func send(
        _ method: String,
        _ path: String,
        body: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if let body { request.httpBody = Data(body.utf8) }
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return Reply(
            status: http.statusCode,
            data: data,
            contentType: http.value(forHTTPHeaderField: "Content-Type") ?? "",
            headers: Dictionary(
                http.allHeaderFields.map { ("\($0.key)".lowercased(), "\($0.value)") },
                uniquingKeysWith: { first, _ in first }
            )
        )
    }
}
