import NIOCore
import NIOSSL
import WireProtocol
import X509

/// The client side of a session's start, shared by node agents and gateways.
public enum ControlPlaneHandshake {
    /// Connects with mTLS to a control plane, refusing any server that is not one.
    public static func connect(
        host: String,
        port: Int,
        identity: TLSIdentity,
        trustRoot: Certificate,
        group: any EventLoopGroup,
        connectTimeout: TimeAmount = .seconds(10),
        handshakeTimeout: TimeAmount = .seconds(10),
        userTimeout: TimeAmount? = nil
    ) async throws -> FramedChannel.Connection {
        try await connect(
            host: host,
            port: port,
            sslContext: try clientContext(identity: identity, trustRoot: trustRoot),
            group: group,
            connectTimeout: connectTimeout,
            handshakeTimeout: handshakeTimeout,
            userTimeout: userTimeout
        )
    }

    /// The mTLS client context for ``connect(host:port:sslContext:group:connectTimeout:handshakeTimeout:userTimeout:localAddress:)``;
    /// build it once per identity and keep it across reconnects.
    public static func clientContext(identity: TLSIdentity, trustRoot: Certificate) throws -> NIOSSLContext {
        try NIOSSLContext(configuration: try TLSConfigurations.mutualClient(identity: identity, trustRoot: trustRoot))
    }

    /// Connects with a context from ``clientContext(identity:trustRoot:)``.
    public static func connect(
        host: String,
        port: Int,
        sslContext: NIOSSLContext,
        group: any EventLoopGroup,
        connectTimeout: TimeAmount = .seconds(10),
        handshakeTimeout: TimeAmount = .seconds(10),
        userTimeout: TimeAmount? = nil,
        localAddress: SocketAddress? = nil
    ) async throws -> FramedChannel.Connection {
        try await FramedChannel.connect(
            host: host,
            port: port,
            sslContext: sslContext,
            verifyServer: FramedChannel.requireControlPlane,
            group: group,
            connectTimeout: connectTimeout,
            handshakeTimeout: handshakeTimeout,
            userTimeout: userTimeout,
            localAddress: localAddress
        )
    }

    /// Sends `hello` (announcing that redirects are followed) and returns the server's
    /// `welcome`.
    ///
    /// A follower's redirect throws ``ControlPlaneRedirected``; an error frame throws
    /// ``TLSTransportError/Code/refusedByPeer`` with the server's reason; anything else
    /// throws a ``WireError``.
    public static func greet(
        _ channel: any Channel,
        frames: inout NIOAsyncChannelInboundStream<Frame>.AsyncIterator,
        hello: Hello
    ) async throws -> Welcome {
        var hello = hello
        if !hello.capabilities.contains(Redirect.capability) { hello.capabilities.append(Redirect.capability) }
        try await channel.writeAndFlush(hello.frame(allocator: channel.allocator)).get()
        guard let first = try await frames.next() else {
            throw WireError(.truncated, "the control plane closed the connection before its welcome")
        }
        switch first.type {
        case .welcome:
            return try Welcome(payload: first.payload)
        case .redirect:
            let redirect = try Redirect(payload: first.payload)
            throw ControlPlaneRedirected(leader: redirect.leader, epoch: redirect.epoch)
        case .error:
            throw TLSTransportError(.refusedByPeer, try ErrorFrame(payload: first.payload).message)
        default:
            throw WireError(.unexpectedMessage, "expected welcome, got \(first.type)")
        }
    }
}
