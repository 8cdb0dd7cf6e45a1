import Crypto
import SwiftASN1
import X509

/// A node's locally generated key and the CSR it sends with its join token.
///
/// The private key never leaves the node.
public struct NodeKey: Sendable {
    public let privateKey: Certificate.PrivateKey

    public init() {
        self.privateKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
    }

    public init(privateKey: Certificate.PrivateKey) {
        self.privateKey = privateKey
    }

    /// A DER-encoded PKCS#10 request, self-signed with this key.
    public func makeCSR(nodeName: String) throws -> [UInt8] {
        let subject = try DistinguishedName { CommonName(nodeName.isEmpty ? "berth-node" : nodeName) }
        let csr = try CertificateSigningRequest(
            version: .v1,
            subject: subject,
            privateKey: privateKey,
            attributes: CertificateSigningRequest.Attributes(),
            signatureAlgorithm: .ecdsaWithSHA256
        )
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        return serializer.serializedBytes
    }
}
