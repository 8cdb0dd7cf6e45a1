import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import ServiceLifecycle
import Synchronization

/// Settings of a REST gateway.
public struct GatewayConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// HTTP port; 0 picks a free one (tests).
    public var port: Int = 8090
    /// When set, every call but `/livez` and `/readyz` needs this root token.
    public var rootToken: String?
    /// HTTPS (HTTP/1.1 and HTTP/2 by ALPN); plain HTTP when `nil`.
    public var tls: GatewayTLS?
    /// Reported as `anka_registry` on instances.
    public var registryAddress: String = ""
    /// Signs the dashboard's session cookies. When `nil` (the default), the control plane's
    /// deployment-wide secret is used, so every gateway accepts every other's cookies.
    public var portalSecret: [UInt8]?
    /// How long a dashboard login lasts, in seconds.
    public var portalSessionLifetime: Int = 12 * 3600
    /// Mark the dashboard's cookies `Secure`. `nil`: only when serving HTTPS.
    public var secureCookies: Bool?
    /// Seconds a new connection has to deliver a complete request head.
    public var headerTimeout: Double = 10
    /// Seconds a request body may go without a byte arriving.
    public var bodyTimeout: Double = 30
    /// Seconds a kept-alive connection may wait for its next request.
    public var keepAliveTimeout: Double = 60
    /// Wrong root tokens from one address within a minute before it gets 429.
    public var rootTokenFailures: Int = 10
    /// Seconds an address that guessed too often gets 429 on root-token attempts.
    public var rootTokenLockout: Double = 300
    /// Connections held at once; past it the gateway stops accepting until one closes.
    public var maxConnections: Int = 8192
    /// Instances per RPC page when `GET /api/v1/vm` lists them all (the control plane may
    /// send fewer, to keep a page under its byte budget).
    public var instancePageSize: Int = 2_000
    /// Bytes of `GET /api/v1/vm` entries kept as JSON between polls, by the record bytes
    /// they were written from (``ListEntryCache``); 0 keeps none.
    public var listCacheBytes: Int = 64 << 20
    /// OpenID Connect bearer tokens on the API; off when `nil`.
    public var oidc: OIDCConfiguration?

    public init() {}
}

/// The stateless REST front door: Anka's HTTP API translated into RPCs to the control plane.
///
/// Runs its ``ControlPlaneClient`` and the HTTP server together; stopping one stops both.
public struct Gateway: Sendable {
    public let configuration: GatewayConfiguration
    public let client: ControlPlaneClient
    let logger: Logger
    /// Wrong root tokens per source, shared by the API and the dashboard's login.
    let guesses: RootTokenGuesses
    /// Checks OIDC tokens, keeping the issuer's keys between requests.
    let oidc: OIDCVerifier?
    /// The series served at `/metrics`.
    public let metrics = GatewayMetrics()

    public init(
        configuration: GatewayConfiguration,
        client: ControlPlaneClient,
        logger: Logger = Logger(label: "berth.gateway")
    ) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
        self.guesses = RootTokenGuesses(
            limits: .init(
                failures: configuration.rootTokenFailures,
                window: 60,
                lockout: configuration.rootTokenLockout
            )
        )
        self.oidc = configuration.oidc.map { OIDCVerifier(configuration: $0) }
    }

    /// Builds the router with every route and the envelope middleware.
    public func makeRouter() -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        let portal = makePortal()
        let routeMethods = RouteMethods()
        router.add(middleware: RequestTelemetryMiddleware(metrics: metrics, logger: logger))
        router.add(
            middleware: EnvelopeMiddleware(
                authenticator: configuration.rootToken.map(RootTokenAuthenticator.init(token:)),
                clientCertificates: configuration.tls?.clientCertificates ?? false,
                guesses: guesses,
                oidc: oidc,
                routeMethods: routeMethods,
                logger: logger
            )
        )
        router.add(middleware: PortalKeyMiddleware(keyring: portal.keyring))
        HealthRoutes(client: client).register(on: router)
        OpenAPIRoutes().register(on: router)
        MetricsRoutes(client: client, metrics: metrics).register(on: router)
        AuthConfigRoutes(oidc: configuration.oidc).register(on: router)
        InstanceRoutes(
            client: client,
            registryAddress: configuration.registryAddress,
            pageSize: max(1, configuration.instancePageSize),
            entryCache: ListEntryCache(capacityBytes: configuration.listCacheBytes)
        ).register(on: router)
        NodeRoutes(client: client).register(on: router)
        GroupRoutes(client: client).register(on: router)
        KeyRoutes(client: client).register(on: router)
        TokenRoutes(client: client).register(on: router)
        PermissionRoutes(client: client).register(on: router)
        RegistryRoutes(client: client).register(on: router)
        TemplatePushRoutes(client: client).register(on: router)
        ChunkRoutes(client: client).register(on: router)
        ImageRoutes(client: client, registryAddress: configuration.registryAddress).register(on: router)
        BerthRoutes(client: client, registryAddress: configuration.registryAddress).register(on: router)
        InstanceMetricsRoutes(client: client).register(on: router)
        EnvironmentRoutes(client: client).register(on: router)
        PortForwardRoutes(client: client).register(on: router)
        PortalRoutes(portal: portal, registryAddress: configuration.registryAddress).register(on: router)
        routeMethods.load(router.routes)
        return router
    }

    func makePortal() -> Portal {
        Portal(
            client: client,
            keyring: PortalKeyring(client: client, fixed: configuration.portalSecret),
            guesses: guesses,
            rootToken: configuration.rootToken.map(RootTokenAuthenticator.init(token:)),
            clientCertificates: configuration.tls?.clientCertificates ?? false,
            secureCookies: configuration.secureCookies ?? (configuration.tls != nil),
            sessionLifetime: configuration.portalSessionLifetime,
            oidc: oidc,
            servesTLS: configuration.tls != nil,
            logger: logger
        )
    }

    /// Serves HTTP until cancelled; `onListening` receives the bound port.
    ///
    /// Throws at once, naming the address, when the port cannot be bound.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let listening = Mutex(false)
        let deadlines = HTTPConnectionGuard.Deadlines(
            header: .milliseconds(Int64(configuration.headerTimeout * 1000)),
            bodyInactivity: .milliseconds(Int64(configuration.bodyTimeout * 1000)),
            keepAlive: .milliseconds(Int64(configuration.keepAliveTimeout * 1000))
        )
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [HTTPConnectionGuard(deadlines: deadlines)])
        let server: HTTPServerBuilder =
            if let tls = configuration.tls {
                try .http2Upgrade(
                    tlsConfiguration: tls.configuration,
                    configuration: .init(
                        idleTimeout: .seconds(Int64(configuration.keepAliveTimeout)),
                        streamConfiguration: http1
                    )
                )
            } else {
                .http1(configuration: http1)
            }
        let app = Application(
            router: makeRouter(),
            server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: nil,
                // Accepted connections reach the server through an async sequence, which a
                // busy process drains late; with Hummingbird's default of 256 a burst of
                // connections overflows the kernel's queue, and a client whose handshake
                // was dropped there waits minutes for an answer instead of a deadline.
                backlog: 4096,
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)
            ),
            onServerRunning: { channel in
                listening.withLock { $0 = true }
                await onListening(channel.localAddress?.port ?? 0)
            },
            logger: logger
        )
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await client.run() }
                try await app.run()
                group.cancelAll()
            }
        } catch  where !listening.withLock({ $0 }) {
            throw GatewayError(
                .serviceUnavailable,
                "cannot listen on \(configuration.host):\(configuration.port) (is the port already taken?): \(error)"
            )
        }
    }
}
