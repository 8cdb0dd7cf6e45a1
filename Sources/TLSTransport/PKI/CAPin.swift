import Crypto
import Foundation
import WireProtocol
import X509

/// The pin of a CA: `sha256:<hex>` of its SubjectPublicKeyInfo, as kubeadm prints it.
///
/// A joining node learns the pin out of band (printed with the join token) and refuses
/// any control plane whose chain does not contain a CA with that key.
public struct CAPin: Hashable, Sendable, CustomStringConvertible {
    public var hexDigest: String

    public init(certificate: Certificate) {
        let spki = certificate.publicKey.subjectPublicKeyInfoBytes
        self.hexDigest = Hex.lowercase(Array(SHA256.hash(data: spki)))
    }

    /// Parses `sha256:<64 hex digits>` (the prefix is optional).
    public init?(_ text: String) {
        let hex = text.hasPrefix("sha256:") ? String(text.dropFirst(7)) : text
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        self.hexDigest = hex.lowercased()
    }

    public var description: String { "sha256:\(hexDigest)" }

    /// `true` when `certificate` is the pinned CA.
    public func matches(_ certificate: Certificate) -> Bool {
        CAPin(certificate: certificate).hexDigest == hexDigest
    }
}
