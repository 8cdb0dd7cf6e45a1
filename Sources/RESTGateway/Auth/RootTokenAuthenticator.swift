import Crypto
import Foundation
import HTTPTypes
import WireProtocol

/// Checks `Authorization: Basic base64("root:<token>")` (or `":<token>"`, as Veertu's
/// GitHub Action sends it) against the configured root token, in constant time.
struct RootTokenAuthenticator: Sendable {
    let token: [UInt8]

    init(token: String) {
        self.token = Array(token.utf8)
    }

    /// The principal for a request's headers, or `nil` when they do not carry the root token.
    func authenticate(_ headers: HTTPFields) -> Principal? {
        guard let secret = Self.claimedSecret(headers) else { return nil }
        return Self.constantTimeEqual(secret, token) ? .root : nil
    }

    /// Whether the headers present a root token at all (`Basic root:…` or `Basic :…`), right or wrong.
    static func claimsRoot(_ headers: HTTPFields) -> Bool { claimedSecret(headers) != nil }

    private static func claimedSecret(_ headers: HTTPFields) -> [UInt8]? {
        guard let header = headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces))
        else { return nil }
        let credentials = Array(decoded)
        guard let colon = credentials.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let user = credentials[..<colon]
        guard user.isEmpty || Array(user) == Array("root".utf8) else { return nil }
        return Array(credentials[(colon + 1)...])
    }

    /// Equal bytes and equal lengths, in time that depends on neither the contents nor
    /// where they differ: both sides are hashed to 32 bytes first, and the digests compared
    /// in full. (Folding the length difference into one byte let the token followed by 256
    /// NUL bytes compare equal.)
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let left = Array(SHA256.hash(data: a))
        let right = Array(SHA256.hash(data: b))
        var difference: UInt8 = 0
        for i in 0..<left.count { difference |= left[i] ^ right[i] }
        return difference == 0 && a.count == b.count
    }
}
