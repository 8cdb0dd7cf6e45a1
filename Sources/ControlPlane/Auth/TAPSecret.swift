import Crypto
import Foundation
import Persistence
import TLSTransport
import WireProtocol

/// A TAP secret that proves itself: 20 bytes, sent as URL-safe base64 without padding
/// (27 characters), the shape Anka clients expect.
///
/// | bytes | content |
/// |---|---|
/// | 0–7 | random nonce |
/// | 8–11 | expiry, seconds since the Unix epoch, big-endian |
/// | 12–19 | HMAC-SHA256(server key, key id · nonce · expiry), first 8 bytes |
///
/// The server keeps no outstanding secrets, so a flood of hands for a key id costs it
/// nothing it must evict. Only the holder of the key's private key learns a secret, so a
/// 64-bit tag is far beyond online guessing (each guess is a shake, answered 401).
enum TAPSecret {
    /// Makes and checks secrets with a key drawn at start.
    struct Signer: Sendable {
        private let key = SymmetricKey(data: RandomID.bytes(32))

        func make(keyID: String, expires: UInt32) -> String {
            var body = RandomID.bytes(8)
            withUnsafeBytes(of: expires.bigEndian) { body.append(contentsOf: $0) }
            body.append(contentsOf: tag(keyID: keyID, body: body))
            return Base64URL.encode(Data(body))
        }

        /// The expiry of a secret made here for `keyID`, or `nil` for anything else.
        func verify(_ secret: String, keyID: String) -> UInt32? {
            guard secret.utf8.count == 27, let bytes = Base64URL.decode(secret).map(Array.init), bytes.count == 20 else { return nil }
            let body = Array(bytes[0..<12])
            guard ConstantTime.equal(Array(bytes[12..<20]), tag(keyID: keyID, body: body)) else { return nil }
            return body[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }

        private func tag(keyID: String, body: [UInt8]) -> [UInt8] {
            var message = Array(keyID.utf8)
            message.append(0)
            message.append(contentsOf: body)
            return Array(HMAC<SHA256>.authenticationCode(for: message, using: key).prefix(8))
        }
    }

    /// Seconds since the Unix epoch, as secrets carry them.
    static func now() -> UInt32 { UInt32(clamping: Int(Date().timeIntervalSince1970)) }
}
