import Crypto
import Foundation
import X509

/// A CA whose private key is sealed for storage in a database that several control-plane
/// replicas share (docs/ha.md): the certificate in the clear, the key encrypted with
/// AES-256-GCM under a key derived by HKDF-SHA256 from a secret every replica is given and
/// a random salt. The certificate's DER is the authenticated data, so a sealed key cannot
/// be paired with another certificate.
///
/// The database alone (a dump, a standby, a stolen backup) then never holds a usable CA key;
/// the secret lives with the replicas (`--ca-key-secret-file`).
public struct SealedCertificateAuthority: Sendable, Equatable {
    public var certificatePEM: String
    /// 32 random bytes, the HKDF salt.
    public var salt: [UInt8]
    /// AES-GCM's combined form (nonce, ciphertext, tag) of the key's PEM.
    public var sealedKey: [UInt8]

    public init(certificatePEM: String, salt: [UInt8], sealedKey: [UInt8]) {
        self.certificatePEM = certificatePEM
        self.salt = salt
        self.sealedKey = sealedKey
    }

    /// The shortest secret accepted, in bytes: a guessable secret would make the seal a
    /// formality.
    public static let minimumSecretLength = 16

    /// Seals `authority`'s key under `secret`.
    public static func seal(_ authority: CertificateAuthority, secret: [UInt8]) throws -> SealedCertificateAuthority {
        try checkSecret(secret)
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let keyPEM = try authority.privateKey.serializeAsPEM().pemString
        let box = try AES.GCM.seal(
            Array(keyPEM.utf8),
            using: key(secret: secret, salt: salt),
            authenticating: authority.certificate.derBytes
        )
        guard let combined = box.combined else {
            throw TLSTransportError(.unreadableFile, "AES-GCM gave no combined form")
        }
        return SealedCertificateAuthority(
            certificatePEM: try authority.certificate.serializeAsPEM().pemString,
            salt: salt,
            sealedKey: Array(combined)
        )
    }

    /// The certificate, without opening the key.
    public func certificate() throws -> Certificate {
        try Certificate(pemEncoded: certificatePEM)
    }

    /// The CA, its key opened with `secret`; throws when the secret is not the one it was
    /// sealed with (or the row was altered).
    public func open(secret: [UInt8]) throws -> CertificateAuthority {
        try Self.checkSecret(secret)
        let certificate = try certificate()
        let keyPEM: Data
        do {
            keyPEM = try AES.GCM.open(
                AES.GCM.SealedBox(combined: sealedKey),
                using: Self.key(secret: secret, salt: salt),
                authenticating: certificate.derBytes
            )
        } catch {
            throw TLSTransportError(
                .unreadableFile,
                "the shared CA key does not open with this secret: every replica needs the secret the CA was sealed with"
            )
        }
        let key = try Certificate.PrivateKey(pemEncoded: String(decoding: keyPEM, as: UTF8.self))
        guard key.publicKey == certificate.publicKey else {
            throw TLSTransportError(.unreadableFile, "the shared CA key does not belong to its certificate")
        }
        return CertificateAuthority(certificate: certificate, privateKey: key)
    }

    static func key(secret: [UInt8], salt: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: secret),
            salt: salt,
            info: Array("berth ca key v1".utf8),
            outputByteCount: 32
        )
    }

    static func checkSecret(_ secret: [UInt8]) throws {
        guard secret.count >= minimumSecretLength else {
            throw TLSTransportError(
                .unreadableFile,
                "the CA key secret is \(secret.count) bytes; at least \(minimumSecretLength) are needed "
                    + "(e.g. openssl rand -base64 32)"
            )
        }
    }
}
