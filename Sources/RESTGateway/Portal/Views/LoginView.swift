import Foundation
import Hummingbird
import WireProtocol
import _CryptoExtras

/// `/login` and `/logout`: the root token or a UAK trades for a session cookie.
///
/// A UAK login runs the TAP handshake here in the gateway, with the private key the
/// operator pasted; the key is used for that one decryption and never kept or logged.
/// The session the cookie carries is a TAP session of its own (``RPCCatalog/portalSession``),
/// so the control plane checks it on every call and deleting the key ends it.
struct LoginView {
    let portal: Portal

    func register(on router: Router<GatewayContext>) {
        router.get("/login") { request, _ -> Response in
            guard portal.authenticationEnabled else { return portal.redirect(to: "/") }
            let existing = portal.session(of: request)
            let session = existing ?? .visitor()
            let query = FormData(encoded: request.uri.query ?? "")
            let notice = query["expired"] == "1" ? "Your session has ended. Log in again." : nil
            var response = Portal.htmlResponse(
                page(session: session, next: query["next"], error: nil, notice: notice),
                status: .ok
            )
            if existing == nil || existing?.kind != .visitor {
                response.headers[values: .setCookie].append(portal.sessionCookie(session))
            }
            return response
        }
        router.post("/login") { request, context -> Response in
            let form = try await FormData.read(request)
            let next = Portal.safeRedirect(form["next"]) ?? "/"
            guard let existing = portal.formSession(of: request, form: form) else {
                let fresh = PortalSession.visitor()
                var response = Portal.htmlResponse(
                    page(session: fresh, next: next, error: "The login form expired. Try again.", notice: nil),
                    status: .forbidden
                )
                response.headers[values: .setCookie].append(portal.sessionCookie(fresh))
                return response
            }
            do {
                let session = try await logIn(form, source: RootTokenGuesses.source(of: context.channel))
                portal.logger.info("dashboard login", metadata: ["user": "\(session.user)"])
                return portal.redirect(to: next, cookies: [portal.sessionCookie(session)])
            } catch let error as GatewayError {
                portal.logger.notice("dashboard login refused", metadata: ["reason": "\(error.message)"])
                return Portal.htmlResponse(
                    page(session: existing, next: next, error: error.message, notice: nil),
                    status: error.status == .badRequest || error.status == .tooManyRequests
                        ? error.status : .unauthorized
                )
            }
        }
        router.post("/logout") { request, _ -> Response in
            let form = try await FormData.read(request)
            guard let existing = portal.formSession(of: request, form: form) else { return portal.redirect(to: "/") }
            // End the control plane's session, so a copy of the old cookie is worthless.
            if let principal = existing.principal {
                do {
                    let _: Empty = try await portal.client.rpc(
                        RPCCatalog.endSession,
                        principal: principal,
                        body: Empty()
                    )
                } catch let error as GatewayError where error.status == .unauthorized {
                    // Already over.
                }
            }
            return portal.redirect(to: "/login", cookies: [portal.sessionCookie(.visitor())])
        }
    }

    private func logIn(_ form: FormData, source: String) async throws -> PortalSession {
        let expires = Int(Date().timeIntervalSince1970) + portal.sessionLifetime
        if form["method"] == "key" {
            guard let keyID = form["key_id"], let pasted = form["private_key"] else {
                throw GatewayError(.badRequest, "Enter the key id and its private key.")
            }
            let grant = try await handshake(keyID: keyID, privateKey: try Self.privateKey(pasted))
            return PortalSession(
                kind: .apiKey,
                user: grant.session.userName,
                sessionID: grant.session.sessionID,
                token: grant.session.token,
                expires: min(expires, grant.expiresMicros / 1_000_000),
                csrf: PortalSession.randomToken()
            )
        }
        guard let token = form.raw("token"), !token.isEmpty else {
            throw GatewayError(.badRequest, "Enter the root token.")
        }
        if let seconds = portal.guesses.lockedFor(source) {
            throw GatewayError(.tooManyRequests, "Too many wrong root tokens from here; try again in \(seconds) s.")
        }
        guard let rootToken = portal.rootToken,
            RootTokenAuthenticator.constantTimeEqual(Array(token.utf8), rootToken.token)
        else {
            portal.guesses.recordFailure(source)
            throw GatewayError(.unauthorized, "That token is not the root token.")
        }
        let grant: PortalSessionGrant = try await portal.client.rpc(
            RPCCatalog.portalSession,
            principal: .root,
            body: PortalSessionRequest(ttlSeconds: portal.sessionLifetime)
        )
        return PortalSession(
            kind: .root,
            user: "root",
            sessionID: grant.session.sessionID,
            token: grant.session.token,
            expires: min(expires, grant.expiresMicros / 1_000_000),
            csrf: PortalSession.randomToken()
        )
    }

    /// hand, decrypt, shake; then a session with the dashboard's lifetime.
    private func handshake(keyID: String, privateKey: _RSA.Encryption.PrivateKey) async throws -> PortalSessionGrant {
        let refused = GatewayError(.unauthorized, "That key id and private key do not match a live API key.")
        let challenge: TAPChallenge
        do {
            challenge = try await portal.client.rpc(RPCCatalog.tapHand, principal: .anonymous, body: IDQuery(id: keyID))
        } catch let error as GatewayError where error.status != .serviceUnavailable {
            throw refused
        }
        guard let encrypted = Data(base64Encoded: challenge.encryptedSecretBase64),
            let secret = try? privateKey.decrypt(encrypted, padding: .PKCS1_OAEP_SHA256)
        else { throw refused }
        let tap: TAPSession = try await portal.client.rpc(
            RPCCatalog.tapShake,
            principal: .anonymous,
            body: TAPShakeRequest(id: keyID, secret: String(decoding: secret, as: UTF8.self))
        )
        return try await portal.client.rpc(
            RPCCatalog.portalSession,
            principal: Principal(kind: .apiKey, name: keyID, sessionID: tap.sessionID, token: tap.token),
            body: PortalSessionRequest(ttlSeconds: portal.sessionLifetime)
        )
    }

    /// PEM (PKCS#1 or PKCS#8), or the bare base64 DER that `POST /api/v1/apikey` returns.
    static func privateKey(_ text: String) throws -> _RSA.Encryption.PrivateKey {
        if text.contains("-----BEGIN"), let key = try? _RSA.Encryption.PrivateKey(pemRepresentation: text) {
            return key
        }
        let compact = text.filter { !$0.isWhitespace }
        if let der = Data(base64Encoded: compact), let key = try? _RSA.Encryption.PrivateKey(derRepresentation: der) {
            return key
        }
        throw GatewayError(.badRequest, "The private key is not an RSA key in PEM or base64 DER.")
    }

    /// The login page: single sign-on when OIDC is set up for the dashboard, the root token
    /// when there is one, and an API key.
    func page(session: PortalSession, next: String?, error: String?, notice: String?) -> HTML {
        let nextField: HTML = "<input type=\"hidden\" name=\"next\" value=\"\(Portal.safeRedirect(next) ?? "/")\">"
        let csrf: HTML = "<input type=\"hidden\" name=\"_csrf\" value=\"\(session.csrf)\">"
        let message: HTML =
            error.map { "<div class=\"flash error\" role=\"alert\">\($0)</div>" }
            ?? notice.map { "<div class=\"flash ok\" role=\"status\">\($0)</div>" } ?? .empty
        var signIn = HTML.empty
        if let oidc = portal.oidc?.configuration, oidc.dashboardSignIn {
            let target = "/login/oidc?next=" + PortalLayout.percentEncoded(Portal.safeRedirect(next) ?? "/")
            signIn = """
                <section class="stack" aria-labelledby="sso-login">
                <h2 id="sso-login">Single sign-on</h2>
                <a class="button primary" id="sso" href="\(target)">Sign in with \(Self.issuerName(oidc.issuer))</a>
                </section>
                """
        }
        var rootForm = HTML.empty
        if portal.rootToken != nil {
            rootForm = """
                <form method="post" action="/login" class="stack" aria-labelledby="root-login">
                <h2 id="root-login">Root token</h2>
                \(csrf)\(nextField)<input type="hidden" name="method" value="token">
                <label for="token">Root token<input id="token" name="token" type="password" autocomplete="current-password" required autofocus></label>
                <button type="submit" class="primary">Log in</button>
                </form>
                """
        }
        return PortalLayout.bare(
            title: "Log in to Berth",
            body: """
                \(message)
                \(signIn)
                \(rootForm)
                <form method="post" action="/login" class="stack" aria-labelledby="key-login">
                <h2 id="key-login">API key (UAK)</h2>
                \(csrf)\(nextField)<input type="hidden" name="method" value="key">
                <label for="key_id">Key id<input id="key_id" name="key_id" autocomplete="username" required></label>
                <label for="private_key">Private key (PEM, or the base64 the API returned)<textarea id="private_key" name="private_key" required spellcheck="false"></textarea></label>
                <button type="submit">Log in with the key</button>
                </form>
                """
        )
    }

    /// The issuer's host, for the sign-in button ("Sign in with login.example.com").
    static func issuerName(_ issuer: String) -> String {
        URL(string: issuer)?.host ?? issuer
    }
}
