import Crypto
import Foundation
import SwiftASN1
import WireProtocol
import X509

/// The control plane's certificate authority (ECDSA P-256).
///
/// Issues the control plane's server certificate, gateway client certificates and node
/// client certificates from CSRs. Every leaf it issues names exactly one ``PeerIdentity``
/// in its SAN URI and carries the matching extended key usage.
///
/// On disk (`berth ca init`): `ca.crt` and `ca.key` (mode 0600) in the PKI directory.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    let privateKey: Certificate.PrivateKey

    public init(certificate: Certificate, privateKey: Certificate.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// Creates a fresh self-signed CA.
    public static func create(commonName: String = "Berth CA", validFor years: Int = 10) throws -> CertificateAuthority
    {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let name = try DistinguishedName {
            OrganizationName("Berth")
            CommonName(commonName)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(years) * 365 * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            },
            issuerPrivateKey: key
        )
        return CertificateAuthority(certificate: certificate, privateKey: key)
    }

    /// The pin nodes check before trusting this CA.
    public var pin: CAPin { CAPin(certificate: certificate) }

    /// Issues a certificate for `identity` over `publicKey`.
    ///
    /// - Parameters:
    ///   - hosts: DNS names and IP addresses for a server certificate (control plane only).
    ///   - validity: lifetime in seconds.
    public func issue(
        identity: PeerIdentity,
        publicKey: Certificate.PublicKey,
        hosts: [String] = [],
        validity: TimeInterval
    ) throws -> Certificate {
        let subject = try DistinguishedName {
            OrganizationName("Berth")
            OrganizationalUnitName(identity.role.rawValue)
            CommonName(identity.id)
        }
        var names: [GeneralName] = [.uniformResourceIdentifier(identity.uri)]
        for host in hosts {
            if let ip = IPAddressBytes.parse(host) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(ip))))
            } else {
                names.append(.dnsName(host))
            }
        }
        let usage: ExtendedKeyUsage.Usage = identity.role == .controlPlane ? .serverAuth : .clientAuth
        let now = Date()
        return try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            // Backdated for clock skew: 5 min, or a tenth of a short lifetime (tests use seconds).
            notValidBefore: now.addingTimeInterval(-min(300, validity / 10)),
            notValidAfter: now.addingTimeInterval(validity),
            issuer: certificate.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([usage])
                SubjectAlternativeNames(names)
                AuthorityKeyIdentifier(keyIdentifier: try certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: privateKey
        )
    }

    /// Generates a key and issues a certificate for it: for the control plane and gateways,
    /// whose keys are made where the CA lives.
    public func issueIdentity(
        _ identity: PeerIdentity,
        hosts: [String] = [],
        validity: TimeInterval
    ) throws -> TLSIdentity {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let leaf = try issue(identity: identity, publicKey: key.publicKey, hosts: hosts, validity: validity)
        return TLSIdentity(certificateChain: [leaf, certificate], privateKey: key)
    }

    /// Verifies a CSR's self-signature and issues a node certificate for its key.
    ///
    /// The subject the CSR asks for is ignored: the identity is the one the CA assigns.
    public func sign(csrDER: [UInt8], as identity: PeerIdentity, validity: TimeInterval) throws -> Certificate {
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(derEncoded: csrDER)
        } catch {
            throw TLSTransportError(.invalidCSR, "CSR is not valid DER: \(error)")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw TLSTransportError(.invalidCSR, "CSR signature does not verify")
        }
        guard P256.Signing.PublicKey(csr.publicKey) != nil else {
            throw TLSTransportError(.invalidCSR, "CSR key must be ECDSA P-256")
        }
        return try issue(identity: identity, publicKey: csr.publicKey, validity: validity)
    }

    /// Writes `ca.crt` and `ca.key` into `directory`.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data((try certificate.serializeAsPEM().pemString + "\n").utf8)
            .write(to: directory.appendingPathComponent("ca.crt"), options: .atomic)
        try PEMFile.writeSecret(
            try privateKey.serializeAsPEM().pemString + "\n",
            to: directory.appendingPathComponent("ca.key")
        )
    }

    /// Reads `ca.crt` and `ca.key` from `directory`.
    public static func read(from directory: URL) throws -> CertificateAuthority {
        guard let certificate = try PEMFile.readCertificates(directory.appendingPathComponent("ca.crt")).first else {
            throw TLSTransportError(.unreadableFile, "ca.crt in \(directory.path) holds no certificate")
        }
        let key = try Certificate.PrivateKey(
            pemEncoded: try PEMFile.readText(directory.appendingPathComponent("ca.key"))
        )
        return CertificateAuthority(certificate: certificate, privateKey: key)
    }

    /// Reads only `ca.crt`, for peers that trust the CA but cannot sign.
    public static func readCertificate(from url: URL) throws -> Certificate {
        guard let certificate = try PEMFile.readCertificates(url).first else {
            throw TLSTransportError(.unreadableFile, "\(url.path) holds no certificate")
        }
        return certificate
    }
}

extension Certificate {
    /// Serial number as lowercase hex, the form stored and logged.
    public var serialHex: String {
        Hex.lowercase(serialNumber.bytes)
    }

    /// The certificate's DER bytes.
    public var derBytes: [UInt8] {
        var serializer = DER.Serializer()
        try! serializer.serialize(self)
        return serializer.serializedBytes
    }
}
