import BerthTestSupport
import Crypto
import DevCluster
import Foundation
import Testing

/// The dashboard's security over plain HTTP with curl: CSRF, escaping, UAK login,
/// redirects that stay on the site, and sessions that cannot be forged.
@Suite struct PortalHTTPTests {
    static let rootToken = "portal-http-root-token"

    typealias Browser = TestBrowser

    @Test func formsNeedTheSessionsCSRFTokenAndValuesAreEscaped() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "mini")
        let agent = cp.startAgent(enrolled, name: "mini")
        try await agent.waitConnected()
        let gateway = try await TestGateway.start(cp, rootToken: Self.rootToken)
        let browser = Browser(base: gateway.base)
        #expect(try await browser.logIn(token: Self.rootToken).status == 303)

        // No token, or another session's token: refused, and nothing changes.
        let path = "/nodes/\(enrolled.nodeID)/drain"
        let bare = try await browser.request(path, form: [("drain", "1"), ("confirmed", "1")])
        #expect(bare.status == 403)
        let other = try await Browser(base: gateway.base).csrf()
        let forged = try await browser.request(path, form: [("_csrf", other), ("drain", "1"), ("confirmed", "1")])
        #expect(forged.status == 403)
        #expect(try await cp.database.node(id: enrolled.nodeID)?.drainMode == false)
        // Without `confirmed`, the action asks first; with it, it happens.
        let token = try await browser.csrf("/nodes/\(enrolled.nodeID)")
        let asked = try await browser.request(path, form: [("_csrf", token), ("drain", "1")])
        #expect(asked.status == 200 && asked.body.contains("Confirm"))
        #expect(try await cp.database.node(id: enrolled.nodeID)?.drainMode == false)
        let done = try await browser.request(path, form: [("_csrf", token), ("drain", "1"), ("confirmed", "1")])
        #expect(done.status == 303)
        #expect(try await cp.database.node(id: enrolled.nodeID)?.drainMode == true)

        // An instance's log downloads as a text file with its state history.
        let started = try await gateway.http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)"}"#)
        let instance = try #require((started.json["body"] as? [String])?.first)
        let download = try await browser.request("/instances/\(instance)/log")
        #expect(download.status == 200)
        #expect(download.header("Content-Disposition")?.contains("attachment; filename=\"\(instance)") == true)
        #expect(download.body.contains("State history:") && download.body.contains("Scheduling"))

        // A hostile group name is shown as text.
        let hostile = "<img src=x onerror=alert(1)>"
        #expect(
            try await gateway.http.send("POST", "/api/v1/group", body: #"{"name": "\#(hostile)"}"#).status == 200
        )
        let groups = try await browser.request("/groups")
        #expect(groups.body.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(!groups.body.contains(hostile))
        #expect(groups.header("Content-Security-Policy")?.contains("script-src 'self'") == true)
        await gateway.stop()
        await agent.stop()
        await cp.stop()
    }

    @Test func logInWithAUserAPIKey() async throws {
        let cp = try await TestControlPlane.start { $0.authorization = true }
        let gateway = try await TestGateway.start(cp, rootToken: Self.rootToken)
        let http = gateway.http
        #expect(
            try await http.send(
                "POST",
                "/admin/api/v1/permission/group",
                body: #"{"name": "viewers", "permissions": ["list_vms"]}"#
            ).status == 200
        )
        let created = try await http.send(
            "POST",
            "/api/v1/apikey",
            body: #"{"id": "ops", "ttl": 3600, "groups": ["viewers"]}"#
        )
        let privateKey = try #require(created.json["body"] as? String)

        let browser = Browser(base: gateway.base)
        let wrong = try await browser.request(
            "/login",
            form: [
                ("_csrf", try await browser.csrf()), ("method", "key"), ("key_id", "nobody"),
                ("private_key", privateKey),
            ]
        )
        #expect(wrong.status == 401)
        let login = try await browser.request(
            "/login",
            form: [
                ("_csrf", try await browser.csrf()), ("method", "key"), ("key_id", "ops"), ("private_key", privateKey),
                ("next", "/instances"),
            ]
        )
        #expect(login.status == 303)
        #expect(login.header("Location") == "/instances")
        let cookie = try #require(login.header("Set-Cookie"))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        let instances = try await browser.request("/instances")
        #expect(instances.status == 200)
        #expect(instances.body.contains("Signed in as <strong>ops</strong>"))
        // The key may list instances but not nodes: the nodes page says so, it does not crash.
        let nodes = try await browser.request("/nodes")
        #expect(nodes.status == 403)
        #expect(nodes.body.contains("missing permission list_nodes"))
        // Deleting the key ends the dashboard session at once.
        #expect(try await http.send("DELETE", "/api/v1/apikey", body: #"{"id": "ops"}"#).status == 200)
        let after = try await browser.request("/instances")
        #expect(after.status == 303)
        #expect(after.header("Location")?.hasPrefix("/login") == true)
        await gateway.stop()
        await cp.stop()
    }

    @Test func redirectsStayOnTheSiteAndForgedSessionsAreIgnored() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: Self.rootToken)
        let browser = Browser(base: gateway.base)
        let away = try await browser.request(
            "/login",
            form: [
                ("_csrf", try await browser.csrf()), ("method", "token"), ("token", Self.rootToken),
                ("next", "//evil.example/"),
            ]
        )
        #expect(away.status == 303)
        #expect(away.header("Location") == "/")

        // A session cookie signed with another key is not a session.
        let payload = Data(
            #"{"kind":"root","user":"root","sessionID":"","token":"","expires":4102444800,"csrf":"x"}"#.utf8
        )
        .base64EncodedString().replacingOccurrences(of: "=", with: "")
        let stranger = Browser(base: gateway.base)
        let forged = try await stranger.request("/", extra: ["-H", "Cookie: berth_session=\(payload).AAAA"])
        #expect(forged.status == 303)
        #expect(forged.header("Location")?.hasPrefix("/login") == true)
        // The live feed tells an unauthenticated page to log in again.
        let live = try await stranger.request(
            "/live?view=dashboard",
            extra: ["-H", "Cookie: berth_session=\(payload).AAAA"]
        )
        #expect(live.body.contains("event: expired"))
        // API paths keep the JSON envelope; the dashboard's pages do not need the API's header.
        let api = try await stranger.request("/api/v1/node")
        #expect(api.status == 401 && api.body.contains(#""status":"FAIL""#))
        await gateway.stop()
        await cp.stop()
    }

    /// Logout ends the session on every gateway (a copy of the cookie is then worthless), a
    /// session works on every gateway of the deployment, and no cookie handed out, a
    /// visitor's included, can be checked against the root token.
    @Test func logoutEndsTheSessionAndCookiesCannotBeCheckedAgainstTheRootToken() async throws {
        let cp = try await TestControlPlane.start()
        let first = try await TestGateway.start(cp, rootToken: Self.rootToken, name: "gw-1")
        let second = try await TestGateway.start(cp, rootToken: Self.rootToken, name: "gw-2")

        // The visitor cookie, handed out before login: not signed with a key made from the token.
        let visitor = Browser(base: first.base)
        let login = try await visitor.request("/login")
        let cookie = try #require(
            login.header("Set-Cookie")?.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last
        )
        let parts = cookie.split(separator: ".")
        try #require(parts.count == 2)
        let guessKey = SymmetricKey(
            data: SHA256.hash(data: Array("berth-portal-v1:".utf8) + Array(Self.rootToken.utf8))
        )
        let payload = try #require(Self.base64URL(String(parts[0])))
        let guess = Data(HMAC<SHA256>.authenticationCode(for: payload, using: guessKey))
        #expect(Self.base64URL(String(parts[1])) != guess)

        // Log in on one gateway; the session is good on the other (curl's jar ignores ports).
        let browser = Browser(base: first.base)
        #expect(try await browser.logIn(token: Self.rootToken).status == 303)
        #expect(try await browser.request("/").status == 200)
        let elsewhere = Browser(base: second.base)
        try FileManager.default.copyItem(atPath: browser.jar, toPath: elsewhere.jar)
        #expect(try await elsewhere.request("/").status == 200)

        // A copy of the cookie, kept by an attacker, before logout.
        let copy = Browser(base: second.base)
        try FileManager.default.copyItem(atPath: browser.jar, toPath: copy.jar)
        let logout = try await browser.request("/logout", form: [("_csrf", try await browser.csrf("/"))])
        #expect(logout.status == 303)
        let replay = try await copy.request("/")
        #expect(replay.status == 303, "\(replay.headers)")
        #expect(replay.header("Location")?.hasPrefix("/login") == true)
        await second.stop()
        await first.stop()
        await cp.stop()
    }

    /// The instance and node lists hold one page, filtered, sorted and paged by the control
    /// plane; the pager's links and the sortable headers keep the other settings.
    @Test func listsArePagedSortedAndSearchedOnTheServer() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp, rootToken: Self.rootToken)
        for (count, name) in [(120, "batch"), (5, "needle-job")] {
            let started = try await gateway.http.send(
                "POST",
                "/api/v1/vm",
                body: #"{"vmid": "\#(TestTemplates.linux)", "count": \#(count), "name": "\#(name)"}"#
            )
            #expect(started.status == 200)
        }
        let browser = Browser(base: gateway.base)
        #expect(try await browser.logIn(token: Self.rootToken).status == 303)
        func rows(_ body: String) -> Int { body.components(separatedBy: "<tr><td>").count - 1 }

        let first = try await browser.request("/instances")
        #expect(first.status == 200)
        #expect(rows(first.body) == 50)
        #expect(first.body.contains("1–50 of 125 instances"))
        #expect(first.body.contains("href=\"/instances?p=2\" rel=\"next\""))
        // Newest first: the five needles came last.
        #expect(
            first.body.range(of: "needle-job").map { $0.lowerBound < first.body.range(of: "batch")!.lowerBound } == true
        )

        let third = try await browser.request("/instances?sort=name&order=asc&p=3")
        #expect(rows(third.body) == 25)
        #expect(third.body.contains("101–125 of 125 instances"))
        #expect(third.body.contains("rel=\"prev\"") && !third.body.contains("rel=\"next\""))
        #expect(third.body.contains("aria-sort=\"ascending\""))
        // Ascending by name: the needles come after every batch instance, so they end the last page.
        #expect(third.body.contains("needle-job"))
        // The live feed renders the same page.
        #expect(third.body.contains("/live?view=instances&amp;sort=name&amp;order=asc&amp;p=3"))

        let found = try await browser.request("/instances?q=NEEDLE")
        #expect(rows(found.body) == 5)
        #expect(found.body.contains("1–5 of 5 matching (125 instances in all)"))

        _ = try await cp.enroll(name: "mini-1")
        let nodes = try await browser.request("/nodes?q=MINI")
        #expect(rows(nodes.body) == 1 && nodes.body.contains("1–1 of 1 nodes"))
        let none = try await browser.request("/nodes?q=nothing-like-this")
        #expect(none.status == 200 && none.body.contains("No nodes match."))
        await gateway.stop()
        await cp.stop()
    }

    static func base64URL(_ text: String) -> Data? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard.append("=") }
        return Data(base64Encoded: standard)
    }
}
