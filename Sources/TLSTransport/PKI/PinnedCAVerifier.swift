import Foundation
import NIOCore
import NIOSSL
import X509

/// Verifies a control plane's chain against a pinned CA hash, for enrollment.
///
/// The chain must contain a CA certificate with the pinned key, and the leaf must be a
/// control-plane certificate signed by it and valid now.
public struct PinnedCAVerifier: Sendable {
    public let pin: CAPin

    public init(pin: CAPin) { self.pin = pin }

    /// The pinned CA found in `chain`, or an error saying why the chain is refused.
    public func verify(_ chain: [Certificate], now: Date = Date()) throws -> Certificate {
        guard let leaf = chain.first else { throw TLSTransportError(.pinMismatch, "server presented no certificate") }
        guard let ca = chain.first(where: { pin.matches($0) }) else {
            throw TLSTransportError(.pinMismatch, "no certificate in the server's chain matches CA pin \(pin)")
        }
        guard ca.publicKey.isValidSignature(leaf.signature, for: leaf) else {
            throw TLSTransportError(.pinMismatch, "server certificate is not signed by the pinned CA")
        }
        guard leaf.notValidBefore <= now, now <= leaf.notValidAfter else {
            throw TLSTransportError(.invalidCertificate, "server certificate is not valid at this time")
        }
        guard PeerIdentity(certificate: leaf)?.role == .controlPlane else {
            throw TLSTransportError(.invalidCertificate, "server certificate is not a Berth control plane certificate")
        }
        return ca
    }

    /// The same check as a NIOSSL verification callback.
    public var callback: NIOSSLCustomVerificationCallback {
        { certificates, promise in
            do {
                _ = try verify(try certificates.map { try $0.toCertificate() })
                promise.succeed(.certificateVerified)
            } catch {
                promise.succeed(.failed)
            }
        }
    }
}
