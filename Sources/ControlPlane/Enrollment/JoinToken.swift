import Crypto
import Foundation

/// A join token `<id>.<secret>`: 6 and 16 characters of `[a-z0-9]`, as kubeadm's.
///
/// The id is stored in clear to find the row; only SHA-256 of the secret is stored.
public struct JoinToken: Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var secret: String

    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")

    /// A fresh random token.
    public static func generate() -> JoinToken {
        var rng = SystemRandomNumberGenerator()
        func random(_ n: Int) -> String { String((0..<n).map { _ in alphabet.randomElement(using: &rng)! }) }
        return JoinToken(id: random(6), secret: random(16))
    }

    public init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// Parses `<id>.<secret>`; `nil` when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 6, parts[1].count == 16,
            parts.joined().allSatisfy({ Self.alphabet.contains($0) })
        else { return nil }
        self.init(id: String(parts[0]), secret: String(parts[1]))
    }

    public var description: String { "\(id).\(secret)" }

    /// The id part of `text`: the part before the dot of a whole token, else `text` itself.
    public static func id(of text: String) -> String {
        text.split(separator: ".", maxSplits: 1).first.map(String.init) ?? text
    }

    public var secretHash: [UInt8] { Array(SHA256.hash(data: Data(secret.utf8))) }
}
