import Foundation
import HTTPTypes
import Hummingbird
import WireProtocol

/// `/login/oidc` and its callback: dashboard sign-in at the OIDC issuer, with the
/// authorization code flow and PKCE.
///
/// `/login/oidc` sends the browser to the issuer with a fresh state, nonce and PKCE
/// challenge, and keeps the flow (``OIDCSignInState``) in a signed cookie for ten minutes.
/// The callback checks the state against that cookie, trades the code and the PKCE verifier
/// for an ID token, checks the token as the API checks bearer tokens (signature, issuer,
/// the client id as audience, expiry) plus the nonce, and opens a control-plane session
/// for the user and groups it names, so logout ends it on every gateway.
///
/// The flow cookie is `SameSite=Lax`: the issuer's redirect back is a navigation from
/// another site, on which a `Strict` cookie is not sent. The session cookie stays `Strict`,
/// so the callback answers with a page that moves on by itself (a navigation of this site's
/// own) rather than a redirect, which browsers treat as still coming from the issuer.
struct OIDCLoginView {
    let portal: Portal
    let login: LoginView

    static let purpose = "oidc-sign-in"
    static let callbackPath = "/login/oidc/callback"

    func register(on router: Router<GatewayContext>) {
        router.get("/login/oidc") { request, _ -> Response in
            guard let oidc = portal.oidc, oidc.configuration.dashboardSignIn else {
                return refusal(request, "Single sign-on is not configured on this gateway.", status: .notFound)
            }
            let query = FormData(encoded: request.uri.query ?? "")
            guard let redirectURI = redirectURI(for: request, configured: oidc.configuration.redirectURL) else {
                return refusal(request, "The request names no usable host; set --oidc-redirect-url.", status: .badRequest)
            }
            let flow = OIDCSignInState.fresh(next: Portal.safeRedirect(query["next"]) ?? "/", redirectURI: redirectURI)
            do {
                let target = try await oidc.authorizationURL(for: flow)
                return portal.redirect(to: target, cookies: [flowCookie(flow)])
            } catch let error as GatewayError {
                portal.logger.warning("oidc sign-in could not start", metadata: ["reason": "\(error.message)"])
                return refusal(request, "The identity provider cannot be reached. Try again in a moment.", status: error.status)
            }
        }
        router.get(RouterPath(stringLiteral: Self.callbackPath)) { request, _ -> Response in
            guard let oidc = portal.oidc, oidc.configuration.dashboardSignIn else {
                return refusal(request, "Single sign-on is not configured on this gateway.", status: .notFound)
            }
            let query = FormData(encoded: request.uri.query ?? "")
            guard let flow = flow(of: request), let state = query["state"],
                RootTokenAuthenticator.constantTimeEqual(Array(state.utf8), Array(flow.state.utf8))
            else {
                return refusal(request, 
                    "This sign-in expired or did not start in this browser. Log in again.",
                    status: .badRequest
                )
            }
            if let error = query["error"] {
                let detail = query["error_description"].map { "\(error): \($0)" } ?? error
                portal.logger.notice("oidc sign-in refused by the issuer", metadata: ["reason": "\(detail)"])
                return refusal(request, "The identity provider refused the sign-in (\(detail)).", status: .unauthorized)
            }
            guard let code = query["code"], !code.isEmpty else {
                return refusal(request, "The identity provider sent no code. Log in again.", status: .badRequest)
            }
            do {
                let principal = try await oidc.redeem(code: code, flow: flow)
                let grant: PortalSessionGrant = try await portal.client.rpc(
                    RPCCatalog.portalSession,
                    principal: principal,
                    body: PortalSessionRequest(ttlSeconds: portal.sessionLifetime)
                )
                let session = PortalSession(
                    kind: .oidc,
                    user: grant.session.userName,
                    sessionID: grant.session.sessionID,
                    token: grant.session.token,
                    expires: min(
                        Int(Date().timeIntervalSince1970) + portal.sessionLifetime,
                        grant.expiresMicros / 1_000_000
                    ),
                    csrf: PortalSession.randomToken()
                )
                portal.logger.info(
                    "dashboard login",
                    metadata: ["user": "\(session.user)", "via": "oidc", "groups": "\(principal.groups)"]
                )
                var response = Portal.htmlResponse(
                    PortalLayout.bare(
                        title: "Signed in",
                        body: "<p>Signed in as \(session.user). <a href=\"\(flow.next)\">Continue</a></p>",
                        refresh: flow.next
                    ),
                    status: .ok
                )
                response.headers[values: .setCookie].append(portal.sessionCookie(session))
                response.headers[values: .setCookie].append(clearedFlowCookie)
                return response
            } catch let error as GatewayError {
                portal.logger.notice("oidc sign-in failed", metadata: ["reason": "\(error.message)"])
                return refusal(request, error.message, status: error.status == .serviceUnavailable ? error.status : .unauthorized)
            }
        }
    }

    /// The callback URL: the configured one, else this gateway's scheme and the host the
    /// browser used. `nil` when the host is missing or not a plain host[:port].
    func redirectURI(for request: Request, configured: String) -> String? {
        if !configured.isEmpty { return configured }
        guard let host = request.head.authority, !host.isEmpty,
            host.unicodeScalars.allSatisfy({
                CharacterSet.alphanumerics.contains($0) && $0.isASCII || "-.:[]".unicodeScalars.contains($0)
            })
        else { return nil }
        return "\(portal.servesTLS ? "https" : "http")://\(host)\(Self.callbackPath)"
    }

    private func flow(of request: Request) -> OIDCSignInState? {
        guard let value = request.cookies[OIDCSignInState.cookieName]?.value,
            let flow = portal.signer.open(value, as: OIDCSignInState.self, purpose: Self.purpose),
            flow.expires > Int(Date().timeIntervalSince1970)
        else { return nil }
        return flow
    }

    private func flowCookie(_ flow: OIDCSignInState) -> String {
        portal.cookie(
            OIDCSignInState.cookieName,
            portal.signer.seal(flow, purpose: Self.purpose),
            maxAge: OIDCSignInState.lifetime,
            path: "/login/oidc",
            lax: true
        )
    }

    private var clearedFlowCookie: String {
        portal.cookie(OIDCSignInState.cookieName, "", maxAge: 0, path: "/login/oidc", lax: true)
    }

    /// The login page with `message`, and the flow cookie cleared. (The session cookie is
    /// `Strict`, so it is missing on the issuer's redirect back: the page gets a new one.)
    private func refusal(_ request: Request, _ message: String, status: HTTPResponse.Status) -> Response {
        let existing = portal.session(of: request)
        let session = existing ?? .visitor()
        var response = Portal.htmlResponse(login.page(session: session, next: "/", error: message, notice: nil), status: status)
        if existing == nil { response.headers[values: .setCookie].append(portal.sessionCookie(session)) }
        response.headers[values: .setCookie].append(clearedFlowCookie)
        return response
    }
}
