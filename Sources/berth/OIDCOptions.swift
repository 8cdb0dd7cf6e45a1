import ArgumentParser
import Foundation
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

    @Option(help: "File holding the dashboard's OIDC client secret (for a confidential client; PKCE needs none).")
    var oidcClientSecretFile: String?

    @Option(help: "The dashboard's sign-in callback URL as the issuer knows it (default: from the request's host).")
    var oidcRedirectUrl = ""

    @Option(help: "Scopes the dashboard asks for at OIDC sign-in.")
    var oidcScopes = "openid profile email"

    func validate() throws {
        guard let oidcIssuer else { return }
        guard oidcIssuer.hasPrefix("https://") || oidcIssuer.hasPrefix("http://") else {
            throw ValidationError("--oidc-issuer must be an http(s) URL")
        }
        if oidcClientId.isEmpty && oidcAudience.isEmpty {
            throw ValidationError("--oidc-issuer needs --oidc-client-id or --oidc-audience (tokens must name an audience)")
        }
        if !oidcRedirectUrl.isEmpty, !oidcRedirectUrl.hasSuffix("/login/oidc/callback") {
            throw ValidationError("--oidc-redirect-url must end in /login/oidc/callback")
        }
        if let oidcClientSecretFile { _ = try SecretFile.read(oidcClientSecretFile, option: "--oidc-client-secret-file") }
    }


    /// The configuration, when `--oidc-issuer` is given.
    var configuration: OIDCConfiguration? {
        oidcIssuer.map {
            var configuration = OIDCConfiguration(
                issuer: $0,
                clientID: oidcClientId,
                audience: oidcAudience,
                userNameClaim: oidcUsernameClaim,
                groupsClaim: oidcGroupsClaim
            )
            configuration.clientSecret =
                oidcClientSecretFile.flatMap { try? SecretFile.read($0, option: "--oidc-client-secret-file") } ?? ""
            configuration.redirectURL = oidcRedirectUrl
            configuration.scopes = oidcScopes
            return configuration
        }
    }
}
