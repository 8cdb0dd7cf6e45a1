import Hummingbird

/// `GET /config/v1/auth`: how to sign in, without a credential. The Jenkins and TeamCity
/// SDKs read it before they fetch an OIDC token.
struct AuthConfigRoutes {
    let oidc: OIDCConfiguration?

    struct OIDCJSON: Encodable {
        let user_name_field: String
        let groups_field: String
        let provider_url: String
        let client_id: String
    }

    struct AuthJSON: Encodable {
        let oidc: OIDCJSON?

        func encode(to encoder: any Encoder) throws {
            enum Key: String, CodingKey { case oidc }
            var c = encoder.container(keyedBy: Key.self)
            // Without OIDC the body is an empty object: there is nothing to configure.
            if let oidc { try c.encode(oidc, forKey: .oidc) }
        }
    }

    func register(on router: Router<GatewayContext>) {
        router.get("/config/v1/auth") { _, _ -> Response in
            AnkaJSON.ok(
                AuthJSON(
                    oidc: oidc.map {
                        OIDCJSON(
                            user_name_field: $0.userNameClaim,
                            groups_field: $0.groupsClaim,
                            provider_url: $0.issuer,
                            client_id: $0.clientID
                        )
                    }
                )
            )
        }
    }
}
