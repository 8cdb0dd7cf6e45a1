/// A row of `sessions`: a REST session (TAP or dashboard) kept so that it outlives the
/// control plane that made it, on a restart or a failover to another replica. Only the
/// SHA-256 of its token is stored.
public struct SessionRow: Codable, Sendable, Equatable, SQLRecord {
    public static var tableName: String { "sessions" }

    public var id: String
    public var tokenHash: [UInt8]
    /// The key's id; empty for a root or OIDC dashboard session.
    public var keyId: String
    /// For an OIDC dashboard session: the user and their groups (joined by newlines), as
    /// the gateway checked them. Empty otherwise.
    public var oidcUser: String
    public var oidcGroups: String
    /// Wall-clock microseconds since 1970.
    public var expiresAt: Int64

    public init(id: String, tokenHash: [UInt8], keyId: String, oidcUser: String, oidcGroups: [String], expiresAt: Int64) {
        self.id = id
        self.tokenHash = tokenHash
        self.keyId = keyId
        self.oidcUser = oidcUser
        self.oidcGroups = oidcGroups.joined(separator: "\n")
        self.expiresAt = expiresAt
    }

    public var oidcGroupNames: [String] { oidcGroups.isEmpty ? [] : oidcGroups.components(separatedBy: "\n") }
}
