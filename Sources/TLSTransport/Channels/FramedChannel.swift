import NIOCore
import NIOPosix
import NIOSSL
import WireProtocol
import X509

/// Builds TLS + framing pipelines: served by channel handlers (the listener) or exposed as
/// `NIOAsyncChannel<Frame, Frame>` (clients).
public enum FramedChannel {
    public typealias Connection = NIOAsyncChannel<Frame, Frame>

    /// Adds the frame codec behind whatever TLS handler is already there and wraps the channel.
    ///
    /// Must be called on the channel's event loop (it uses `syncOperations`).
    public static func wrapSynchronously(
        _ channel: Channel,
        maxPayloadSize: Int = Frame.defaultMaxPayloadSize,
        admission: ConnectionAdmission? = nil,
        liveness: LivenessOptions? = nil
    ) throws -> Connection {
        try addCodecSynchronously(channel, maxPayloadSize: maxPayloadSize, admission: admission, liveness: liveness)
        return try Connection(
            wrappingChannelSynchronously: channel,
            configuration: .init(isOutboundHalfClosureEnabled: false)
        )
    }

    /// Adds the frame codec (and, when given, admission and liveness) behind whatever TLS
    /// handler is already there. Frames then reach the next handler added.
    ///
    /// Must be called on the channel's event loop (it uses `syncOperations`).
    public static func addCodecSynchronously(
        _ channel: Channel,
        maxPayloadSize: Int = Frame.defaultMaxPayloadSize,
        admission: ConnectionAdmission? = nil,
        liveness: LivenessOptions? = nil
    ) throws {
        try channel.pipeline.syncOperations.addHandler(ReadCompactor())
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(FrameDecoder(maxPayloadSize: maxPayloadSize))
        )
        try channel.pipeline.syncOperations.addHandler(FrameEncoder())
        if let admission {
            try channel.pipeline.syncOperations.addHandler(AdmissionHandler(admission: admission))
        }
        try channel.pipeline.syncOperations.addHandler(PingResponder())
        if let liveness {
            try channel.pipeline.syncOperations.addHandler(LivenessHandler(options: liveness), position: .first)
        }
    }

    /// Binds a TLS listener whose connections are served by channel handlers.
    ///
    /// `serve` runs on each accepted connection's event loop, after TLS and the frame codec
    /// are in place, and adds the handler that serves its frames. A connection has no task
    /// of its own while it waits (an idle session is most of a fleet's memory): the
    /// returned server yields `()` per accepted connection, and iterating it runs the
    /// listener until it closes.
    /// With `admission`, every accepted connection is capped and given deadlines until it
    /// authenticates (see ``ConnectionAdmission``).
    public static func bindServer(
        host: String,
        port: Int,
        sslContext: NIOSSLContext,
        group: any EventLoopGroup,
        maxPayloadSize: Int = Frame.defaultMaxPayloadSize,
        admission: ConnectionAdmission? = nil,
        liveness: LivenessOptions? = nil,
        userTimeout: TimeAmount? = nil,
        serve: @escaping @Sendable (Channel) throws -> Void
    ) async throws -> NIOAsyncChannel<Void, Never> {
        try await ServerBootstrap(group: group)
            // A fleet reconnecting at once waits here behind the handshake gate. Kept short
            // of what the gate drains within a client's handshake deadline: a deeper queue
            // fills with connections whose clients gave up, and each costs a full handshake.
            .serverChannelOption(.backlog, value: 1024)
            // One accept per read, so the handshake gate is asked before every accept. NIO's
            // default of four lets a loaded loop accept up to three past a shut gate.
            .serverChannelOption(.maxMessagesPerRead, value: UInt(admission == nil ? 4 : 1))
            .serverChannelInitializer { channel in
                guard let admission else { return channel.eventLoop.makeSucceededVoidFuture() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptGateHandler(admission: admission))
                }
            }
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(TCPUserTimeout.option, value: TCPUserTimeout.milliseconds(userTimeout))
            // NIOSSL's per-connection buffers on pages of their own, resident only where
            // written: an idle session costs its touched pages, not 48 KiB.
            .childChannelOption(.allocator, value: PagedBufferAllocator.allocator)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    try addCodecSynchronously(
                        channel,
                        maxPayloadSize: maxPayloadSize,
                        admission: admission,
                        liveness: liveness
                    )
                    try serve(channel)
                }
            }
    }

    /// Connects over TLS and returns the framed channel once the handshake is done.
    ///
    /// - Parameters:
    ///   - verifyServer: called with the server's leaf certificate after the handshake;
    ///     throw to refuse it. Use ``requireControlPlane(_:)`` for mTLS connections.
    ///   - pinnedCA: replaces chain verification with a CA pin check (enrollment).
    ///   - localAddress: the address to dial from; the system picks one when `nil`.
    public static func connect(
        host: String,
        port: Int,
        configuration: TLSConfiguration,
        pinnedCA: PinnedCAVerifier? = nil,
        verifyServer: (@Sendable (Certificate) throws -> Void)? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: TimeAmount = .seconds(10),
        handshakeTimeout: TimeAmount = .seconds(10),
        userTimeout: TimeAmount? = nil,
        localAddress: SocketAddress? = nil,
        maxPayloadSize: Int = Frame.defaultMaxPayloadSize
    ) async throws -> Connection {
        try await connect(
            host: host,
            port: port,
            sslContext: try NIOSSLContext(configuration: configuration),
            pinnedCA: pinnedCA,
            verifyServer: verifyServer,
            group: group,
            connectTimeout: connectTimeout,
            handshakeTimeout: handshakeTimeout,
            userTimeout: userTimeout,
            localAddress: localAddress,
            maxPayloadSize: maxPayloadSize
        )
    }

    /// Connects over TLS with a context built once (a client that reconnects keeps one:
    /// building it parses the key and certificates and costs more than the handshake).
    public static func connect(
        host: String,
        port: Int,
        sslContext: NIOSSLContext,
        pinnedCA: PinnedCAVerifier? = nil,
        verifyServer: (@Sendable (Certificate) throws -> Void)? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: TimeAmount = .seconds(10),
        handshakeTimeout: TimeAmount = .seconds(10),
        userTimeout: TimeAmount? = nil,
        localAddress: SocketAddress? = nil,
        maxPayloadSize: Int = Frame.defaultMaxPayloadSize
    ) async throws -> Connection {
        var bootstrap = ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(TCPUserTimeout.option, value: TCPUserTimeout.milliseconds(userTimeout))
        if let localAddress {
            bootstrap = bootstrap.bind(to: localAddress)
        }
        let initialize: @Sendable (any Channel) -> EventLoopFuture<(Connection, EventLoopFuture<Void>)> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let handler: NIOSSLClientHandler
                if let pinnedCA {
                    handler = try NIOSSLClientHandler(
                        context: sslContext,
                        serverHostname: nil,
                        customVerificationCallback: pinnedCA.callback
                    )
                } else {
                    handler = try NIOSSLClientHandler(context: sslContext, serverHostname: nil)
                }
                try channel.pipeline.syncOperations.addHandler(handler)
                // Dormant until the session starts it; it also aborts stalled setups.
                try channel.pipeline.syncOperations.addHandler(LivenessHandler(options: nil), position: .first)
                let handshake = channel.eventLoop.makePromise(of: Void.self)
                try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake))
                return (try wrapSynchronously(channel, maxPayloadSize: maxPayloadSize), handshake.futureResult)
            }
        }
        let (connection, handshake): (Connection, EventLoopFuture<Void>)
        if let address = try? SocketAddress(ipAddress: host, port: port) {
            // An address needs no resolver: a name goes through getaddrinfo on a thread pool
            // and Happy Eyeballs, which cost a fleet redialling at once more than its handshakes.
            (connection, handshake) = try await bootstrap.connect(to: address, channelInitializer: initialize)
        } else {
            (connection, handshake) = try await bootstrap.connect(host: host, port: port, channelInitializer: initialize)
        }
        // A handshake across a path that went dark would otherwise wait forever.
        let channel = connection.channel
        // Closing fails the handshake's future (the waiter sees the channel go inactive).
        let deadline = channel.eventLoop.scheduleTask(in: handshakeTimeout) { abort(channel) }
        defer { deadline.cancel() }
        do {
            try await handshake.get()
            if let verifyServer {
                guard let peer = try await connection.channel.nioSSL_peerCertificate().get() else {
                    throw TLSTransportError(.invalidCertificate, "server presented no certificate")
                }
                try verifyServer(try peer.toCertificate())
            }
        } catch {
            try? await connection.channel.close()
            throw error
        }
        return connection
    }

    /// Starts the liveness of a client connection (its handler waits, dormant, from
    /// ``connect(host:port:configuration:pinnedCA:verifyServer:group:connectTimeout:handshakeTimeout:userTimeout:localAddress:maxPayloadSize:)``
    /// until the welcome names the interval).
    public static func startLiveness(_ options: LivenessOptions, on channel: any Channel) async throws {
        try await channel.triggerUserOutboundEvent(StartLivenessEvent(options)).get()
    }

    /// Closes a connection's socket now, without the TLS close_notify exchange.
    public static func abort(_ channel: any Channel) {
        channel.triggerUserOutboundEvent(AbortConnectionEvent()).whenFailure { _ in channel.close(promise: nil) }
    }

    /// The activity record of a connection set up with `liveness`.
    public static func activity(of channel: any Channel) async throws -> PeerActivity {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: LivenessHandler.self).activity
        }.get()
    }

    /// A `verifyServer` check: the server must hold a control-plane certificate.
    @Sendable public static func requireControlPlane(_ certificate: Certificate) throws {
        guard PeerIdentity(certificate: certificate)?.role == .controlPlane else {
            throw TLSTransportError(.invalidCertificate, "server certificate is not a Berth control plane certificate")
        }
    }
}
