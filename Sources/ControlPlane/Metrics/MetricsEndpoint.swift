import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization
import Telemetry

/// The control plane's Prometheus endpoint (`--metrics-port`): `GET /metrics` over plain
/// HTTP, meant for loopback (the default) or a monitoring network.
///
/// It has caps and deadlines like every listener: 64 connections at once, and a
/// connection idle for 10 s (no request head, or between requests) is closed.
public struct MetricsEndpoint: Sendable {
    public var host: String
    public var port: Int
    let scrape: @Sendable () async -> [UInt8]
    let logger: Logger

    public init(controlPlane: ControlPlane, host: String = "127.0.0.1", port: Int, logger: Logger) {
        self.init(host: host, port: port, logger: logger) { await controlPlane.scrapeMetrics() }
    }

    /// Serves what `scrape` returns (a replica's: the leader's series, or a follower's few).
    public init(host: String = "127.0.0.1", port: Int, logger: Logger, scrape: @escaping @Sendable () async -> [UInt8]) {
        self.scrape = scrape
        self.host = host
        self.port = port
        self.logger = logger
    }

    /// Serves until cancelled; `onListening` receives the bound port. Throws at once,
    /// naming the address, when the port cannot be bound.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            let body = await scrape()
            return Response(
                status: .ok,
                headers: [.contentType: MetricsRegistry.contentType],
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        let listening = Mutex(false)
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(10))),
            configuration: .init(
                address: .hostname(host, port: port),
                serverName: nil,
                availableConnectionsDelegate: MaximumAvailableConnections(64, logger: logger)
            ),
            onServerRunning: { channel in
                listening.withLock { $0 = true }
                await onListening(channel.localAddress?.port ?? 0)
            },
            logger: logger
        )
        do {
            try await app.run()
        } catch where !listening.withLock({ $0 }) {
            throw ControlPlaneError(
                .unavailable,
                "cannot listen for metrics on \(host):\(port) (is the port already taken?): \(error)"
            )
        }
    }
}
