import ArgumentParser
import RESTGateway

/// `--oidc-*`: OpenID Connect bearer tokens on the REST API, as Anka offers them.
struct OIDCOptions: ParsableArguments {
    @Option(help: "OIDC issuer URL; turns on OIDC bearer tokens (its keys come from its discovery document).")
    var oidcIssuer: String?

    @Option(help: "OIDC client id the CI integrations ask tokens for.")
    var oidcClientId = ""

    @Option(help: "Audience a token must name (default: the client id).")
    var oidcAudience = ""

    @Option(help: "Token claim naming the user.")
    var oidcUsernameClaim = "name"

    @Option(help: "Token claim listing the user's permission groups.")
    var oidcGroupsClaim = "groups"

    func validate() throws {
        guard let oidcIssuer else { return }
        guard oidcIssuer.hasPrefix("https://") || oidcIssuer.hasPrefix("http://") else {
            throw ValidationError("--oidc-issuer must be an http(s) URL")
        }
        if oidcClientId.isEmpty && oidcAudience.isEmpty {
            throw ValidationError("--oidc-issuer needs --oidc-client-id or --oidc-audience (tokens must name an audience)")
        }
    }

    /// The configuration, when `--oidc-issuer` is given.
    var configuration: OIDCConfiguration? {
        oidcIssuer.map {
            OIDCConfiguration(
                issuer: $0,
                clientID: oidcClientId,
                audience: oidcAudience,
                userNameClaim: oidcUsernameClaim,
                groupsClaim: oidcGroupsClaim
            )
        }
    }
}
