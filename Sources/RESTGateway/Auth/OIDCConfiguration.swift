/// OpenID Connect bearer tokens, as the Anka controller offers them (`--oidc-issuer`).
public struct OIDCConfiguration: Sendable, Equatable {
    /// The issuer's URL; its discovery document is at `<issuer>/.well-known/openid-configuration`.
    public var issuer: String
    /// The client the CI integrations ask tokens for (shown to them by `GET /config/v1/auth`).
    public var clientID: String
    /// The audience a token must name in `aud`; the client id when empty.
    public var audience: String
    /// The claim that names the user.
    public var userNameClaim: String
    /// The claim that lists the user's permission groups.
    public var groupsClaim: String
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    public var clockSkew: Double
    /// A token under a key id the cached key set lacks makes the gateway fetch the set again,
    /// at most once per this many seconds: a rotated key works at once, and a flood of made-up
    /// key ids costs the issuer one request per interval.
    public var keyRefreshInterval: Double = 10
    /// The dashboard's client secret at the token endpoint, for an issuer that registered the
    /// dashboard as a confidential client; empty for a public client (PKCE alone).
    public var clientSecret: String = ""
    /// Where the issuer sends the browser back after sign-in (`https://host/login/oidc/callback`).
    /// Empty: made from the request's host and the gateway's scheme.
    public var redirectURL: String = ""
    /// Scopes the dashboard asks for at sign-in.
    public var scopes: String = "openid profile email"

    public init(
        issuer: String,
        clientID: String = "",
        audience: String = "",
        userNameClaim: String = "name",
        groupsClaim: String = "groups",
        clockSkew: Double = 60
    ) {
        self.issuer = issuer
        self.clientID = clientID
        self.audience = audience
        self.userNameClaim = userNameClaim
        self.groupsClaim = groupsClaim
        self.clockSkew = clockSkew
    }

    /// The audience tokens must carry.
    public var expectedAudience: String { audience.isEmpty ? clientID : audience }

    /// Whether the dashboard can offer sign-in: the authorization code flow needs a client id.
    public var dashboardSignIn: Bool { !clientID.isEmpty }

    /// The issuer as written in tokens' `iss` (no trailing slash).
    var normalizedIssuer: String { issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer }
}
