import Foundation
import NIOCore
import NIOSSL
import WireProtocol
import X509

/// HTTPS for the gateway: a server certificate and, optionally, a CA whose client
/// certificates authenticate callers.
public struct GatewayTLS: Sendable {
    /// The server side of TLS; ALPN (`h2`, `http/1.1`) is added by the HTTP/2 channel.
    public var configuration: TLSConfiguration
    /// Client certificates signed by the configured CA authenticate callers.
    public var clientCertificates: Bool

    public init(configuration: TLSConfiguration, clientCertificates: Bool) {
        self.configuration = configuration
        self.clientCertificates = clientCertificates
    }

    /// Loads PEM files: the certificate chain (leaf first), its key, and optionally the client CA.
    ///
    /// With a client CA, a client certificate is optional at the TLS layer, so callers with a
    /// root token or a UAK still connect; one that is presented must chain to the CA.
    ///
    /// TLS 1.2 offers only forward-secret AEAD suites (Mozilla's "intermediate" profile, less
    /// the DHE suites BoringSSL lacks); `tls13Only` refuses TLS 1.2 altogether.
    public static func load(
        certificatePath: String,
        keyPath: String,
        clientCAPath: String?,
        tls13Only: Bool = false
    ) throws -> GatewayTLS {
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain,
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = tls13Only ? .tlsv13 : .tlsv12
        configuration.cipherSuiteValues = Self.tls12Suites
        if let clientCAPath {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCAPath))
            configuration.certificateVerification = .optionalVerification
            configuration.sendCANameList = true
        }
        return GatewayTLS(configuration: configuration, clientCertificates: clientCAPath != nil)
    }

    /// The TLS 1.2 suites offered: ECDHE key exchange and AEAD ciphers only (no CBC, no
    /// static RSA). TLS 1.3's suites are all AEAD and are not affected by this list.
    static let tls12Suites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// The principal a verified client certificate stands for: `CN` is the user, every `OU`
    /// value the groups, or every `O` value when there is no `OU`.
    static func principal(fromDER der: [UInt8]) -> Principal? {
        guard let certificate = try? Certificate(derEncoded: der) else { return nil }
        var name = ""
        var units: [String] = []
        var organizations: [String] = []
        for rdn in certificate.subject {
            for attribute in rdn {
                guard let value = String(attribute.value) else { continue }
                switch attribute.type {
                case .RDNAttributeType.commonName: name = value
                case .RDNAttributeType.organizationalUnitName: units.append(value)
                case .RDNAttributeType.organizationName: organizations.append(value)
                default: break
                }
            }
        }
        guard !name.isEmpty else { return nil }
        return Principal(kind: .certificate, name: name, groups: units.isEmpty ? organizations : units)
    }

    /// The verified client certificate of the connection carrying a request, if any.
    ///
    /// HTTP/2 requests arrive on stream channels; the TLS handler sits on their parent.
    static func peerPrincipal(of channel: any Channel) async -> Principal? {
        for candidate in [channel, channel.parent].compactMap({ $0 }) {
            guard let certificate = try? await candidate.nioSSL_peerCertificate().get() else { continue }
            guard let der = try? certificate.toDERBytes() else { return nil }
            return principal(fromDER: der)
        }
        return nil
    }
}
