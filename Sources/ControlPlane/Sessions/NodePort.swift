import NIOCore
import NIOSSL
import TLSTransport

/// The TLS listener for nodes and gateways, as the leader and a following replica bind it.
enum NodePort {
    /// Binds `configuration`'s host and port with the server identity, the frame codec and
    /// `admission`; `serve` adds each connection's handler. A port that cannot be bound is
    /// an error naming the address.
    static func bind(
        _ configuration: ControlPlaneConfiguration,
        identity: TLSIdentity,
        authority: CertificateAuthority,
        group: any EventLoopGroup,
        admission: ConnectionAdmission,
        liveness: LivenessOptions? = nil,
        userTimeout: TimeAmount? = nil,
        serve: @escaping @Sendable (Channel) throws -> Void
    ) async throws -> NIOAsyncChannel<Void, Never> {
        let sslContext = try NIOSSLContext(
            configuration: try TLSConfigurations.controlPlaneServer(identity: identity, trustRoot: authority.certificate)
        )
        do {
            return try await FramedChannel.bindServer(
                host: configuration.host,
                port: configuration.port,
                sslContext: sslContext,
                group: group,
                maxPayloadSize: configuration.maxFramePayload,
                admission: admission,
                liveness: liveness,
                userTimeout: userTimeout,
                serve: serve
            )
        } catch {
            throw ControlPlaneError(
                .unavailable,
                "cannot listen on \(configuration.host):\(configuration.port) (is the port already taken?): \(error)"
            )
        }
    }
}
