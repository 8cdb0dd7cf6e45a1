import Crypto
import Foundation
import Persistence
import TLSTransport
import WireProtocol

/// Short-lived access tokens for one instance: a CI system gets one with `connect_vm` and
/// hands it to a job, which can then open tunnels to that instance and nothing else.
///
/// A token is `bat1.<base64url(JSON {i: instance, e: expiry, u: issuer})>.<base64url(HMAC)>`,
/// signed with a secret the control plane makes once and keeps in its database, so tokens
/// survive a restart and need no table. They cannot be revoked one by one: they are short
/// (at most a day, 10 minutes by default), and they end with their instance.
actor AccessTokens {
    struct Claims: Codable {
        /// The instance.
        var i: String
        /// Expiry, seconds since 1970.
        var e: Int
        /// Who issued it.
        var u: String
    }

    static let prefix = "bat1."

    let database: BerthDatabase
    private var key: SymmetricKey?

    init(database: BerthDatabase) {
        self.database = database
    }

    /// A token for `instanceID`, valid for `ttlSeconds` (clamped to 60 … 86400) from
    /// `issuedAt` (seconds since 1970; now unless given).
    func issue(instanceID: String, ttlSeconds: Int, issuer: String, issuedAt: Int? = nil) async throws -> AccessTokenGrant {
        let expires = (issuedAt ?? Int(Date().timeIntervalSince1970)) + min(max(ttlSeconds, 60), 86_400)
        let payload = try JSONEncoder().encode(Claims(i: instanceID, e: expires, u: issuer))
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: try await signingKey())
        return AccessTokenGrant(
            token: Self.prefix + Base64URL.encode(payload) + "." + Base64URL.encode(Data(mac)),
            expiresMicros: expires * 1_000_000
        )
    }

    /// The claims of a genuine token that has not expired; `nil` otherwise.
    func verify(_ token: String) async -> Claims? {
        guard token.hasPrefix(Self.prefix) else { return nil }
        let parts = token.dropFirst(Self.prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(parts[0]), let mac = Base64URL.decode(parts[1]),
            let key = try? await signingKey(),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key),
            let claims = try? JSONDecoder().decode(Claims.self, from: payload),
            claims.e > Int(Date().timeIntervalSince1970)
        else { return nil }
        return claims
    }

    private func signingKey() async throws -> SymmetricKey {
        if let key { return key }
        let loaded = SymmetricKey(data: try await database.secret("access-token-secret") { RandomID.bytes(32) })
        key = loaded
        return loaded
    }
}
