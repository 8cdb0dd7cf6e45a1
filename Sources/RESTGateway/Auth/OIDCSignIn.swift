import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import TLSTransport
import WireProtocol

/// One dashboard sign-in in flight: what the gateway must remember between sending the
/// browser to the issuer and its return. It travels in a signed, short-lived cookie, so any
/// gateway can finish a sign-in another one started.
///
/// The `state` ties the callback to this browser (no login CSRF), the PKCE `verifier` ties
/// the code to this sign-in (a stolen code is worthless without it), and the `nonce` ties
/// the ID token to it (no replayed token).
struct OIDCSignInState: Codable, Sendable, Equatable {
    var state: String
    var verifier: String
    var nonce: String
    /// Where the dashboard goes once signed in (a path on this site).
    var next: String
    /// The callback URL sent to the issuer; the token request must repeat it exactly.
    var redirectURI: String
    /// Seconds since 1970.
    var expires: Int

    static let cookieName = "berth_oidc"
    /// How long a browser has to come back from the issuer.
    static let lifetime = 600

    static func fresh(next: String, redirectURI: String) -> OIDCSignInState {
        OIDCSignInState(
            state: PortalSession.randomToken(),
            verifier: Base64URL.encode(Data(RandomID.bytes(32))),
            nonce: PortalSession.randomToken(),
            next: next,
            redirectURI: redirectURI,
            expires: Int(Date().timeIntervalSince1970) + lifetime
        )
    }

    /// The PKCE challenge: base64url(SHA-256(verifier)), method S256 (RFC 7636).
    var challenge: String { Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8)))) }
}

extension OIDCVerifier {
    /// The issuer's authorization endpoint with the request for `flow`: the authorization
    /// code flow with PKCE (S256), a state and a nonce.
    func authorizationURL(for flow: OIDCSignInState) async throws -> String {
        guard let endpoint = try await discovery().authorizationEndpoint else {
            throw GatewayError(.serviceUnavailable, "the OIDC issuer's discovery document has no authorization_endpoint")
        }
        let query = Self.formEncoded([
            ("response_type", "code"),
            ("client_id", configuration.clientID),
            ("redirect_uri", flow.redirectURI),
            ("scope", configuration.scopes),
            ("state", flow.state),
            ("nonce", flow.nonce),
            ("code_challenge", flow.challenge),
            ("code_challenge_method", "S256"),
        ])
        return endpoint + (endpoint.contains("?") ? "&" : "?") + query
    }

    /// Trades the code the issuer sent back for an ID token at the token endpoint (with the
    /// PKCE verifier), checks the token as the API checks bearer tokens, with the client id
    /// as its audience and the flow's nonce, and returns the user it names.
    func redeem(code: String, flow: OIDCSignInState) async throws -> Principal {
        guard let endpoint = try await discovery().tokenEndpoint else {
            throw GatewayError(.serviceUnavailable, "the OIDC issuer's discovery document has no token_endpoint")
        }
        var fields = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", flow.redirectURI),
            ("client_id", configuration.clientID),
            ("code_verifier", flow.verifier),
        ]
        if !configuration.clientSecret.isEmpty { fields.append(("client_secret", configuration.clientSecret)) }
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: Self.formEncoded(fields)))
        let (status, body) = try await exchange(request)
        let answer = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        guard status == 200, let idToken = answer["id_token"] as? String else {
            let reason = [answer["error"], answer["error_description"]].compactMap { $0 as? String }.joined(separator: ": ")
            throw GatewayError(
                .unauthorized,
                "The identity provider refused the sign-in (\(reason.isEmpty ? "HTTP \(status)" : reason))."
            )
        }
        let claims: OIDCClaims
        do {
            claims = try await checkedClaims(idToken, audience: configuration.clientID)
        } catch let error as GatewayError where error.status == .unauthorized {
            throw GatewayError(.unauthorized, "The identity provider's ID token did not check out.")
        }
        // A token meant for several parties must name this client as the one it was issued to.
        guard claims.strings["nonce"] == flow.nonce,
            claims.aud.count == 1 || claims.strings["azp"] == configuration.clientID
        else { throw GatewayError(.unauthorized, "The identity provider's ID token is not for this sign-in.") }
        return principal(of: claims)
    }

    /// `application/x-www-form-urlencoded`, everything but the unreserved characters escaped.
    static func formEncoded(_ fields: [(String, String)]) -> String {
        fields.map { "\(PortalLayout.percentEncoded($0.0))=\(PortalLayout.percentEncoded($0.1))" }.joined(separator: "&")
    }
}
