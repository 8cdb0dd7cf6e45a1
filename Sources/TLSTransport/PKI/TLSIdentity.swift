import Foundation
import NIOSSL
import SwiftASN1
import X509

/// A certificate chain with its private key: what one side presents in a TLS handshake.
///
/// Files on disk are PEM: `<name>.crt` (chain, leaf first) and `<name>.key` (mode 0600).
public struct TLSIdentity: Sendable {
    public var certificateChain: [Certificate]
    public var privateKey: Certificate.PrivateKey

    public init(certificateChain: [Certificate], privateKey: Certificate.PrivateKey) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }

    public var leaf: Certificate { certificateChain[0] }

    /// The chain as NIOSSL certificate sources.
    public func nioCertificateChain() throws -> [NIOSSLCertificateSource] {
        try certificateChain.map { .certificate(try NIOSSLCertificate.fromCertificate($0)) }
    }

    /// The private key as NIOSSL expects it.
    public func nioPrivateKey() throws -> NIOSSLPrivateKeySource {
        .privateKey(try NIOSSLPrivateKey(bytes: Array(try privateKey.serializeAsPEM().pemString.utf8), format: .pem))
    }

    /// Writes `<name>.crt` and `<name>.key` into `directory`.
    public func write(to directory: URL, name: String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let chainPEM = try certificateChain.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
        try Data(chainPEM.utf8).write(to: directory.appendingPathComponent("\(name).crt"), options: .atomic)
        try PEMFile.writeSecret(
            try privateKey.serializeAsPEM().pemString + "\n",
            to: directory.appendingPathComponent("\(name).key")
        )
    }

    /// Reads `<name>.crt` and `<name>.key` from `directory`.
    public static func read(from directory: URL, name: String) throws -> TLSIdentity {
        let chain = try PEMFile.readCertificates(directory.appendingPathComponent("\(name).crt"))
        guard !chain.isEmpty else {
            throw TLSTransportError(.unreadableFile, "\(name).crt in \(directory.path) holds no certificate")
        }
        let keyText = try PEMFile.readText(directory.appendingPathComponent("\(name).key"))
        let key = try Certificate.PrivateKey(pemEncoded: keyText)
        return TLSIdentity(certificateChain: chain, privateKey: key)
    }
}

extension NIOSSLCertificate {
    /// Converts a swift-certificates value to NIOSSL's.
    public static func fromCertificate(_ certificate: Certificate) throws -> NIOSSLCertificate {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
    }

    /// Converts NIOSSL's value to swift-certificates'.
    public func toCertificate() throws -> Certificate {
        try Certificate(derEncoded: try self.toDERBytes())
    }
}
