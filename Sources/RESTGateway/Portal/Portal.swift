import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TLSTransport
import WireProtocol

/// What a dashboard handler knows about its request.
struct PortalRequest: Sendable {
    let request: Request
    let context: GatewayContext
    /// The cookie session; a visitor's when nobody logged in.
    let session: PortalSession
    /// Who RPCs are made as.
    let principal: Principal
    /// A message from the action that redirected here.
    let flash: Flash?

    var query: FormData { FormData(encoded: request.uri.query ?? "") }
    /// A path parameter (`:id`), or "" when absent.
    func parameter(_ name: String = "id") -> String { context.parameters.get(name) ?? "" }
    var path: String { request.uri.path }
    /// The page's path and query, for forms that come back here. A live fragment is
    /// rendered for the page named in the feed's `page` parameter.
    var here: String {
        if path == "/live" { return Portal.safeRedirect(query["page"]) ?? "/" }
        return request.uri.query.map { "\(path)?\($0)" } ?? path
    }
}

/// A one-shot message shown after an action, carried in a short-lived cookie.
struct Flash: Sendable, Codable, Equatable {
    var message: String
    var isError: Bool
}

/// What an action did: where to go next and what to say there.
struct PortalOutcome: Sendable {
    var redirect: String
    var message: String
    /// A page to show instead of redirecting (a new API key's private key, shown once).
    var page: HTML?

    init(redirect: String, message: String) {
        self.redirect = redirect
        self.message = message
    }

    init(page: HTML) {
        self.redirect = ""
        self.message = ""
        self.page = page
    }
}

/// The web dashboard's plumbing: sessions, login, CSRF, confirmations and page layout.
///
/// Pages are rendered on the server from the same RPCs the API uses; ``LiveFeed`` pushes
/// fresh fragments of them over server-sent events.
struct Portal: Sendable {
    let client: ControlPlaneClient
    let keyring: PortalKeyring
    /// Wrong root tokens per source, shared with the API.
    let guesses: RootTokenGuesses
    let rootToken: RootTokenAuthenticator?
    let clientCertificates: Bool
    /// Cookies get `Secure` (always true behind TLS; see `docs/portal.md` for plain HTTP).
    let secureCookies: Bool
    let sessionLifetime: Int
    /// OIDC (`--oidc-issuer`): sign-in at the issuer, when it has a client id for the dashboard.
    let oidc: OIDCVerifier?
    /// Whether the gateway serves HTTPS (the scheme of the OIDC callback URL it makes).
    let servesTLS: Bool
    let logger: Logger

    var authenticationEnabled: Bool { rootToken != nil || clientCertificates || oidc != nil }

    /// First path segments the dashboard owns; everything else is the API's.
    static let sections: Set<String> = [
        "", "nodes", "templates", "instances", "environments", "groups", "keys", "permission-groups", "events", "login", "logout",
        "assets", "live",
    ]

    static func owns(_ path: String) -> Bool {
        let first = path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: true).first ?? ""
        return sections.contains(String(first))
    }

    // MARK: sessions

    func session(of request: Request) -> PortalSession? {
        request.cookies[PortalSession.cookieName].flatMap { signer.decode($0.value) }
    }

    /// The cookie signer; ``PortalKeyMiddleware`` loads it before any dashboard handler runs.
    /// (A random key stands in should it not be there: nothing signed with it is ever accepted
    /// elsewhere, and nothing can be checked against the root token.)
    var signer: PortalCookieSigner {
        keyring.current ?? PortalCookieSigner(secret: RandomID.bytes(32))
    }

    /// The session of a form post, when the form carries that session's CSRF token
    /// (compared in constant time); `nil` otherwise.
    func formSession(of request: Request, form: FormData) -> PortalSession? {
        guard let session = session(of: request), let sent = form.raw("_csrf"),
            RootTokenAuthenticator.constantTimeEqual(Array(sent.utf8), Array(session.csrf.utf8))
        else { return nil }
        return session
    }

    func sessionCookie(_ session: PortalSession) -> String {
        let maxAge = max(0, session.expires - Int(Date().timeIntervalSince1970))
        return cookie(PortalSession.cookieName, signer.encode(session), maxAge: maxAge)
    }

    /// A cookie for the whole dashboard. `SameSite=Strict` unless `lax`: a cookie that must
    /// come back on a navigation from another site (the OIDC callback) is `Lax`.
    func cookie(_ name: String, _ value: String, maxAge: Int, path: String = "/", lax: Bool = false) -> String {
        "\(name)=\(value); Path=\(path); Max-Age=\(maxAge); HttpOnly; SameSite=\(lax ? "Lax" : "Strict")"
            + (secureCookies ? "; Secure" : "")
    }

    /// The caller: a logged-in session, else a credential on the request itself (Basic,
    /// Bearer or a client certificate), else anonymous when authentication is off.
    func principal(for request: Request, session: PortalSession?, channel: any Channel) async -> Principal? {
        if let principal = session?.principal { return principal }
        guard authenticationEnabled else { return .anonymous }
        if let header = request.headers[.authorization] {
            if let principal = rootToken?.authenticate(request.headers) { return principal }
            return BearerCredential.principal(from: header)
        }
        if clientCertificates { return await GatewayTLS.peerPrincipal(of: channel) }
        return nil
    }

    // MARK: registration

    /// A GET page. Without credentials it redirects to the login page.
    func page(
        _ router: Router<GatewayContext>,
        _ path: RouterPath,
        title: String,
        section: String,
        live: @escaping @Sendable (PortalRequest) -> String? = { _ in nil },
        render: @escaping @Sendable (PortalRequest) async throws -> HTML
    ) {
        router.get(path) { request, context -> Response in
            let existing = session(of: request)
            let session = existing ?? .visitor()
            guard let principal = await principal(for: request, session: existing, channel: context.channel) else {
                return loginRedirect(request, session: existing == nil ? session : nil)
            }
            let flash = Self.flash(of: request)
            let portalRequest = PortalRequest(
                request: request,
                context: context,
                session: session,
                principal: principal,
                flash: flash
            )
            var status = HTTPResponse.Status.ok
            var body: HTML
            do {
                body = try await render(portalRequest)
            } catch let error as GatewayError {
                if error.status == .unauthorized { return loginRedirect(request, session: .visitor(), expired: true) }
                status = error.status
                body = PortalLayout.errorBox(error.message)
            }
            let html = PortalLayout.page(
                title: title,
                section: section,
                request: portalRequest,
                live: status == .ok
                    ? live(portalRequest).map { "\($0)&page=\(PortalLayout.percentEncoded(portalRequest.here))" } : nil,
                showAccount: authenticationEnabled,
                body: body
            )
            var response = Self.htmlResponse(html, status: status)
            if existing == nil { response.headers[values: .setCookie].append(sessionCookie(session)) }
            if flash != nil { response.headers[values: .setCookie].append(cookie("berth_flash", "", maxAge: 0)) }
            return response
        }
    }

    /// A POST action from a form. Checks the CSRF token; with `confirm`, shows a
    /// confirmation page first (the same fields again, plus `confirmed=1`).
    func action(
        _ router: Router<GatewayContext>,
        _ path: RouterPath,
        confirm: (@Sendable (PortalRequest, FormData) async throws -> String?)? = nil,
        perform: @escaping @Sendable (PortalRequest, FormData) async throws -> PortalOutcome
    ) {
        router.post(path) { request, context -> Response in
            let form = try await FormData.read(request)
            guard let existing = formSession(of: request, form: form) else {
                return Self.htmlResponse(
                    PortalLayout.bare(
                        title: "Form expired",
                        body: PortalLayout.errorBox(
                            "This form has expired or did not come from this dashboard. Go back, reload the page and try again."
                        )
                    ),
                    status: .forbidden
                )
            }
            guard let principal = await principal(for: request, session: existing, channel: context.channel) else {
                return loginRedirect(request, session: nil)
            }
            let portalRequest = PortalRequest(
                request: request,
                context: context,
                session: existing,
                principal: principal,
                flash: nil
            )
            let back = Self.safeRedirect(form["_back"]) ?? "/"
            do {
                if let confirm, form["confirmed"] != "1", let question = try await confirm(portalRequest, form) {
                    return Self.htmlResponse(
                        PortalLayout.page(
                            title: "Confirm",
                            section: "",
                            request: portalRequest,
                            live: nil,
                            showAccount: authenticationEnabled,
                            body: PortalLayout.confirmation(question, form: form, action: request.uri.path, back: back)
                        ),
                        status: .ok
                    )
                }
                let outcome = try await perform(portalRequest, form)
                if let page = outcome.page {
                    return Self.htmlResponse(
                        PortalLayout.page(
                            title: "Done",
                            section: "",
                            request: portalRequest,
                            live: nil,
                            showAccount: authenticationEnabled,
                            body: page
                        ),
                        status: .ok
                    )
                }
                return redirect(to: outcome.redirect, flash: Flash(message: outcome.message, isError: false))
            } catch let error as GatewayError {
                if error.status == .unauthorized { return loginRedirect(request, session: .visitor(), expired: true) }
                return redirect(to: back, flash: Flash(message: error.message, isError: true))
            }
        }
    }

    /// The live feed of a detail page: `view`, with the page's `:id`.
    static func detailFeed(_ view: String) -> @Sendable (PortalRequest) -> String? {
        { request in "/live?view=\(view)&id=\(PortalLayout.percentEncoded(request.parameter()))" }
    }

    // MARK: responses

    func redirect(to location: String, flash: Flash? = nil, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        for cookie in cookies { headers[values: .setCookie].append(cookie) }
        if let flash, let data = try? JSONEncoder().encode(flash) {
            headers[values: .setCookie].append(
                self.cookie("berth_flash", Base64URL.encode(data), maxAge: 60)
            )
        }
        return Response(status: .seeOther, headers: headers)
    }

    func loginRedirect(_ request: Request, session: PortalSession?, expired: Bool = false) -> Response {
        let next = request.method == .get ? request.uri.description : "/"
        var target = "/login?next=\(PortalLayout.percentEncoded(next))"
        if expired { target += "&expired=1" }
        return redirect(to: target, cookies: session.map { [sessionCookie($0)] } ?? [])
    }

    static func flash(of request: Request) -> Flash? {
        guard let value = request.cookies["berth_flash"]?.value, !value.isEmpty,
            let data = Base64URL.decode(value)
        else { return nil }
        return try? JSONDecoder().decode(Flash.self, from: data)
    }

    /// Only paths on this site: `/x`, never `//host` or `https://...`.
    static func safeRedirect(_ target: String?) -> String? {
        guard let target, target.hasPrefix("/"), !target.hasPrefix("//"), !target.hasPrefix("/\\") else { return nil }
        return target
    }

    static func htmlResponse(_ html: HTML, status: HTTPResponse.Status) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html.description)))
    }

    /// Everything the dashboard loads comes from here; nothing may frame it.
    static var securityHeaders: HTTPFields {
        var headers = HTTPFields()
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return headers
    }
}
