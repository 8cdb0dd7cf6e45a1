import BerthTestSupport
import Foundation
import RESTGateway
import Testing

/// Dashboard sign-in at an OIDC issuer (authorization code with PKCE), with curl and a
/// local fake issuer, over real sockets.
@Suite struct PortalOIDCTests {
    typealias Browser = PortalHTTPTests.Browser

    static let rootToken = "portal-oidc-root-token"

    static func gateway(_ cp: TestControlPlane, _ issuer: FakeIssuer) async throws -> TestGateway {
        try await TestGateway.start(cp, rootToken: rootToken) {
            $0.oidc = OIDCConfiguration(issuer: issuer.issuer, clientID: FakeIssuer.clientID)
        }
    }

    /// Starts a sign-in from the login page's button and follows it to the issuer.
    /// Returns the issuer's redirect back to the callback.
    static func toIssuer(_ browser: Browser, next: String) async throws -> String {
        let start = try await browser.request("/login/oidc?next=\(next)")
        #expect(start.status == 303, "\(start.body)")
        let flowCookie = try #require(start.header("Set-Cookie"))
        #expect(flowCookie.contains("berth_oidc=") && flowCookie.contains("SameSite=Lax"))
        #expect(flowCookie.contains("HttpOnly") && flowCookie.contains("Path=/login/oidc"))
        let authorize = try #require(start.header("Location"))
        let granted = try await browser.request(authorize)
        #expect(granted.status == 302, "\(granted.body)")
        return try #require(granted.header("Location"))
    }

    @Test func aUserSignsInAtTheIssuerAndTheirGroupsGovernTheDashboard() async throws {
        let issuer = FakeIssuer()
        try await issuer.start()
        let cp = try await TestControlPlane.start { $0.authorization = true }
        let gateway = try await Self.gateway(cp, issuer)
        issuer.signInAs.withLock { $0 = ("alice", ["viewers"]) }
        let granted = try await gateway.http.send(
            "POST",
            "/admin/api/v1/permission/group",
            body: #"{"name": "viewers", "permissions": ["list_vms"]}"#
        )
        #expect(granted.status == 200, "\(granted.text)")

        let browser = Browser(base: gateway.base)
        let login = try await browser.request("/login?next=%2Finstances")
        #expect(login.status == 200)
        #expect(login.body.contains("href=\"/login/oidc?next=%2Finstances\""), "\(login.body)")
        #expect(login.body.contains("Sign in with 127.0.0.1"))

        let callback = try await Self.toIssuer(browser, next: "%2Finstances")
        let asked = issuer.lastAuthorization.withLock { $0 }
        #expect(asked["code_challenge_method"] == "S256")
        #expect(asked["redirect_uri"] == gateway.base + "/login/oidc/callback")
        #expect(asked["scope"] == "openid profile email")
        #expect(callback.hasPrefix(gateway.base + "/login/oidc/callback?code="))

        let signedIn = try await browser.request(callback)
        #expect(signedIn.status == 200, "\(signedIn.body)")
        #expect(signedIn.body.contains("<meta http-equiv=\"refresh\" content=\"0; url=/instances\">"))
        let cookies = signedIn.headers.split(separator: "\r\n").filter { $0.lowercased().hasPrefix("set-cookie:") }
        #expect(cookies.contains { $0.contains("berth_session=") && $0.contains("SameSite=Strict") })
        #expect(cookies.contains { $0.contains("berth_oidc=;") && $0.contains("Max-Age=0") })

        let instances = try await browser.request("/instances")
        #expect(instances.status == 200)
        #expect(instances.body.contains("Signed in as <strong>alice</strong>"))
        // The group may list instances, not nodes.
        let nodes = try await browser.request("/nodes")
        #expect(nodes.status == 403)
        #expect(nodes.body.contains("missing permission list_nodes"))

        // Logout ends the control plane's session: a copy of the cookie is worthless.
        let jarCopy = try String(contentsOfFile: browser.jar, encoding: .utf8)
        let csrf = try await browser.csrf("/instances")
        #expect(try await browser.request("/logout", form: [("_csrf", csrf)]).status == 303)
        let copy = Browser(base: gateway.base)
        try jarCopy.write(toFile: copy.jar, atomically: true, encoding: .utf8)
        let replayed = try await copy.request("/instances")
        #expect(replayed.status == 303)
        #expect(replayed.header("Location")?.hasPrefix("/login") == true)
        await gateway.stop()
        await cp.stop()
        await issuer.stop()
    }

    @Test func aCallbackThatDidNotStartHereOrCarriesAnotherNonceIsRefused() async throws {
        let issuer = FakeIssuer()
        try await issuer.start()
        let cp = try await TestControlPlane.start()
        let gateway = try await Self.gateway(cp, issuer)

        // A callback in a browser that never started a sign-in (login CSRF): refused.
        let victim = Browser(base: gateway.base)
        let attacker = Browser(base: gateway.base)
        let planted = try await Self.toIssuer(attacker, next: "%2F")
        let refused = try await victim.request(planted)
        #expect(refused.status == 400)
        #expect(refused.body.contains("did not start in this browser"))
        #expect(try await victim.request("/").status == 303)

        // The right browser, but the state changed on the way: refused.
        let browser = Browser(base: gateway.base)
        let callback = try await Self.toIssuer(browser, next: "%2F")
        let tampered = try await browser.request(callback.replacingOccurrences(of: "state=", with: "state=x"))
        #expect(tampered.status == 400)

        // An ID token for another sign-in (its nonce differs): refused, and no session.
        issuer.nonceOverride.withLock { $0 = "someone-elses-nonce" }
        let replay = try await browser.request(try await Self.toIssuer(browser, next: "%2F"))
        #expect(replay.status == 401)
        #expect(replay.body.contains("not for this sign-in"))
        #expect(try await browser.request("/").status == 303)

        // The issuer says no: its reason is shown, as text.
        let said = try await browser.request(
            "/login/oidc/callback?state=x&error=access_denied&error_description=%3Cb%3Enope%3C%2Fb%3E"
        )
        #expect(said.status == 400, "no flow in this browser any more")
        issuer.nonceOverride.withLock { $0 = nil }
        let again = try await browser.request("/login/oidc?next=%2F")
        let location = try #require(again.header("Location"))
        let state = try #require(FakeIssuerQuery.value("state", in: location))
        let denied = try await browser.request(
            "/login/oidc/callback?state=\(state)&error=access_denied&error_description=%3Cb%3Enope%3C%2Fb%3E"
        )
        #expect(denied.status == 401)
        #expect(denied.body.contains("access_denied: &lt;b&gt;nope&lt;/b&gt;"))

        // Without a client id there is no dashboard sign-in.
        let audienceOnly = try await TestGateway.start(cp) {
            $0.oidc = OIDCConfiguration(issuer: issuer.issuer, audience: "api")
        }
        #expect(try await Browser(base: audienceOnly.base).request("/login/oidc").status == 404)
        let page = try await Browser(base: audienceOnly.base).request("/login")
        #expect(page.status == 200)
        #expect(!page.body.contains("/login/oidc"))
        // Nor a root token: the page offers none.
        #expect(!page.body.contains("id=\"token\"") && page.body.contains("id=\"key_id\""))
        await audienceOnly.stop()
        await gateway.stop()
        await cp.stop()
        await issuer.stop()
    }
}

/// A query parameter of a URL.
enum FakeIssuerQuery {
    static func value(_ name: String, in url: String) -> String? {
        URLComponents(string: url)?.queryItems?.first { $0.name == name }?.value
    }
}
