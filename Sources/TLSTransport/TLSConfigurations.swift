import NIOSSL
import X509

/// The TLS settings Berth uses on its control-plane port. TLS 1.3 only, everywhere.
public enum TLSConfigurations {
    /// ALPN protocol name of the Berth binary protocol.
    public static let alpn = "berth/1"

    /// The control plane's listener.
    ///
    /// Client certificates are requested and, when presented, must chain to `trustRoot`.
    /// A connection without one may only enroll; the server enforces that per message.
    public static func controlPlaneServer(identity: TLSIdentity, trustRoot: Certificate) throws -> TLSConfiguration {
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: try identity.nioCertificateChain(),
            privateKey: try identity.nioPrivateKey()
        )
        config.minimumTLSVersion = .tlsv13
        config.certificateVerification = .optionalVerification
        config.trustRoots = .certificates([try .fromCertificate(trustRoot)])
        config.applicationProtocols = [alpn]
        return config
    }

    /// A node or gateway connecting with its client certificate.
    ///
    /// The server's chain must lead to `trustRoot`; that the server is the control plane
    /// (and not another leaf of the same CA) is checked after the handshake by
    /// ``FramedChannel/connect(host:port:configuration:pinnedCA:verifyServer:group:connectTimeout:handshakeTimeout:userTimeout:localAddress:maxPayloadSize:)``.
    public static func mutualClient(identity: TLSIdentity, trustRoot: Certificate) throws -> TLSConfiguration {
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv13
        config.certificateChain = try identity.nioCertificateChain()
        config.privateKey = try identity.nioPrivateKey()
        config.trustRoots = .certificates([try .fromCertificate(trustRoot)])
        config.certificateVerification = .noHostnameVerification
        config.applicationProtocols = [alpn]
        return config
    }

    /// A joining node: no client certificate; the server is checked against a pinned CA
    /// by ``PinnedCAVerifier``.
    public static func enrollmentClient() -> TLSConfiguration {
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv13
        config.certificateVerification = .noHostnameVerification
        config.trustRoots = .certificates([])
        config.applicationProtocols = [alpn]
        return config
    }
}
