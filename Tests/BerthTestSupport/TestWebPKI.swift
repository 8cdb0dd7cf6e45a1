import Crypto
import Foundation
import SwiftASN1
import X509

/// A throwaway CA for the gateway's HTTPS: a server certificate for loopback and client
/// certificates with chosen subjects, written as PEM files for the gateway and for curl.
public struct TestWebPKI: Sendable {
    public let directory: URL
    let caKey: P256.Signing.PrivateKey
    let caCertificate: Certificate

    public init(commonName: String = "Test Web CA") throws {
        directory = TestPaths.temporaryDirectory("pki")
        caKey = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        caCertificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey)
        )
        try write(caCertificate.serializeAsPEM().pemString, "ca.pem")
    }

    public var caPath: String { directory.appendingPathComponent("ca.pem").path }

    /// A server certificate for `127.0.0.1` and `localhost`; returns (certificate, key) paths.
    public func server(name: String = "server") throws -> (certificate: String, key: String) {
        try issue(name: name, subject: DistinguishedName { CommonName("localhost") }, server: true)
    }

    /// A client certificate with `CN`, and any number of `OU` and `O` values.
    public func client(
        name: String,
        commonName: String,
        units: [String] = [],
        organizations: [String] = []
    ) throws -> (certificate: String, key: String) {
        var rdns: [RelativeDistinguishedName] = []
        for organization in organizations {
            rdns.append(
                RelativeDistinguishedName(.init(type: .RDNAttributeType.organizationName, utf8String: organization))
            )
        }
        for unit in units {
            rdns.append(
                RelativeDistinguishedName(.init(type: .RDNAttributeType.organizationalUnitName, utf8String: unit))
            )
        }
        rdns.append(RelativeDistinguishedName(.init(type: .RDNAttributeType.commonName, utf8String: commonName)))
        return try issue(name: name, subject: DistinguishedName(rdns), server: false)
    }

    private func issue(
        name: String,
        subject: DistinguishedName,
        server: Bool
    ) throws -> (
        certificate: String, key: String
    ) {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(86_400),
            issuer: caCertificate.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([server ? .serverAuth : .clientAuth])
                if server {
                    SubjectAlternativeNames([
                        .dnsName("localhost"),
                        .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                    ])
                }
            },
            issuerPrivateKey: .init(caKey)
        )
        try write(certificate.serializeAsPEM().pemString, "\(name).pem")
        try write(key.pemRepresentation, "\(name)-key.pem")
        return (
            directory.appendingPathComponent("\(name).pem").path,
            directory.appendingPathComponent("\(name)-key.pem").path
        )
    }

    private func write(_ text: String, _ file: String) throws {
        try Data((text + "\n").utf8).write(to: directory.appendingPathComponent(file))
    }
}
