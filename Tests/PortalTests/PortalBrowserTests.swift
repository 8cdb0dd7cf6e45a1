import BerthTestSupport
import DevCluster
import Foundation
import NodeAgent
import RESTGateway
import Testing

/// The dashboard in a real headless Chromium, over HTTPS, against a real control plane
/// with two simulated nodes. Skipped when no Chromium is installed (`.ci/run` installs it).
@Suite(.serialized, .enabled(if: Chromium.locate() != nil, "needs chromium"))
struct PortalBrowserTests {
    static let rootToken = "portal-root-token-0123"
    static let ubuntu = "c12ccfa5-8757-411e-9505-128190e9854e"

    /// A fleet, an HTTPS gateway with a root token, and a browser tab.
    struct Fixture {
        let cp: TestControlPlane
        let agents: [TestAgent]
        let gateway: TestGateway
        let browser: Chromium
        let page: BrowserPage
        var base: String { "https://127.0.0.1:\(gateway.port)" }

        static func start(configure: (inout GatewayConfiguration) -> Void = { _ in }) async throws -> Fixture {
            let cp = try await TestControlPlane.start()
            try await SeedTemplates.seed(cp.controlPlane)
            var agents: [TestAgent] = []
            for name in ["mini-1", "mini-2"] {
                let enrolled = try await cp.enroll(name: name)
                let agent = cp.startAgent(enrolled, name: name)
                try await agent.waitConnected()
                agents.append(agent)
            }
            let pki = try TestWebPKI()
            let server = try pki.server(name: "gateway")
            let tls = try GatewayTLS.load(certificatePath: server.certificate, keyPath: server.key, clientCAPath: nil)
            let gateway = try await TestGateway.start(cp, rootToken: rootToken, tls: tls, configure: configure)
            let browser = try Chromium(executable: try #require(Chromium.locate()))
            let page = try await browser.newPage()
            return Fixture(cp: cp, agents: agents, gateway: gateway, browser: browser, page: page)
        }

        func logIn() async throws {
            try await page.navigate(base + "/")
            try await page.fill("#token", PortalBrowserTests.rootToken)
            try await page.clickAndWaitForLoad("form[aria-labelledby=root-login] button[type=submit]")
        }

        /// A GET of the REST API from the page, with the root token; `pick` is a path in the answer.
        func api(_ path: String, pick: String) async throws -> Any? {
            let auth = "Basic " + Data("root:\(PortalBrowserTests.rootToken)".utf8).base64EncodedString()
            return try await page.evaluate(
                "fetch('\(path)', {headers: {Authorization: '\(auth)'}}).then(r => r.json()).then(j => j.\(pick))"
            )
        }

        func stop() async {
            await browser.close()
            await gateway.stop()
            for agent in agents { await agent.stop() }
            await cp.stop()
        }
    }

    @Test func wrongTokenIsRefusedAndTheRightOneLogsIn() async throws {
        let fixture = try await Fixture.start()
        let page = fixture.page
        try await page.navigate(fixture.base + "/nodes")
        #expect(try await page.url.contains("/login?next=%2Fnodes"))
        try await page.fill("#token", "not-the-token-at-all")
        try await page.clickAndWaitForLoad("form[aria-labelledby=root-login] button[type=submit]")
        #expect(try await page.text("[role=alert]").contains("not the root token"))
        #expect(try await page.url.hasSuffix("/login"))
        // Still no way in.
        try await page.navigate(fixture.base + "/")
        #expect(try await page.url.contains("/login"))

        try await page.fill("#token", Self.rootToken)
        try await page.clickAndWaitForLoad("form[aria-labelledby=root-login] button[type=submit]")
        #expect(try await page.url == fixture.base + "/")
        #expect(try await page.text("main").contains("Active nodes"))
        let cookie = try #require(try await page.cookies().first { $0["name"] as? String == "berth_session" })
        #expect(cookie["httpOnly"] as? Bool == true)
        #expect(cookie["secure"] as? Bool == true)
        #expect(cookie["sameSite"] as? String == "Strict")
        // The live feed connects and the dashboard counts both nodes.
        try await page.waitFor("document.getElementById('live-status').innerText === 'Live'")
        try await page.waitFor("document.querySelector('#live-dash-counts').innerText.includes('of 2')")
        // Log out ends it.
        try await page.clickAndWaitForLoad("form[action='/logout'] button")
        try await page.navigate(fixture.base + "/")
        #expect(try await page.url.contains("/login"))
        await fixture.stop()
    }

    /// Sign-in at an OIDC issuer on another site (`localhost` against the gateway's
    /// `127.0.0.1`), as a browser enforces SameSite on the way out and back: the flow cookie
    /// must come back on the issuer's redirect, and the Strict session cookie must be there
    /// on the page the sign-in lands on.
    @Test func signInAtAnOIDCIssuerOnAnotherSite() async throws {
        let issuer = FakeIssuer(host: "localhost")
        try await issuer.start()
        issuer.signInAs.withLock { $0 = ("alice", ["ios"]) }
        issuer.interactive.withLock { $0 = true }
        let fixture = try await Fixture.start {
            $0.oidc = OIDCConfiguration(issuer: issuer.issuer, clientID: FakeIssuer.clientID)
        }
        let page = fixture.page
        try await page.navigate(fixture.base + "/nodes")
        #expect(try await page.url.contains("/login?next=%2Fnodes"))
        #expect(try await page.text("#sso").contains("Sign in with localhost"))
        try await page.clickAndWaitForNavigation("#sso") { $0.hasPrefix(issuer.issuer + "/authorize?") }
        try await page.clickAndWaitForNavigation("#approve") { $0.hasSuffix("/nodes") }
        #expect(try await page.url == fixture.base + "/nodes")
        #expect(try await page.text(".account").contains("Signed in as alice"))
        #expect(try await page.text("main").contains("mini-1"))
        let cookies = try await page.cookies()
        let session = try #require(cookies.first { $0["name"] as? String == "berth_session" })
        #expect(session["sameSite"] as? String == "Strict")
        #expect(!cookies.contains { $0["name"] as? String == "berth_oidc" })
        // Log out ends it.
        try await page.clickAndWaitForLoad("form[action='/logout'] button")
        try await page.navigate(fixture.base + "/")
        #expect(try await page.url.contains("/login"))
        await fixture.stop()
        await issuer.stop()
    }

    @Test func createAnInstanceWatchItStartThenTerminateIt() async throws {
        let fixture = try await Fixture.start()
        let page = fixture.page
        try await fixture.logIn()
        try await page.navigate(fixture.base + "/instances/new")
        try await page.fill("#template", Self.ubuntu)
        try await page.fill("#tag", "ci")
        try await page.fill("#external_id", "browser-<b>test</b>")
        try await page.clickAndWaitForLoad("form[action='/instances'] button[type=submit]")
        #expect(try await page.url.contains("/instances/"))
        // From here on the page is not reloaded: a marker on window survives only if so.
        try await page.evaluate("window.__sameDocument = true")
        try await page.waitFor("document.getElementById('instance-state').innerText.includes('Started')")
        #expect(try await page.evaluate("window.__sameDocument === true") as? Bool == true)
        // The external id is shown as text, not markup.
        #expect(try await page.text("main").contains("browser-<b>test</b>"))
        #expect(try await page.evaluate("document.querySelectorAll('main b').length") as? Int == 0)
        #expect(try await page.text("#live-instance-history").contains("Started"))

        try await page.clickAndWaitForLoad("form[action$='/terminate'] button")
        #expect(try await page.text(".question").contains("Terminate instance"))
        try await page.clickAndWaitForLoad(".confirm button[type=submit]")
        #expect(try await page.text("[role=status]").contains("is terminating"))
        try await page.waitFor("document.getElementById('instance-state').innerText.includes('Terminated')")
        await fixture.stop()
    }

    @Test func toggleDrainModeOnANode() async throws {
        let fixture = try await Fixture.start()
        let page = fixture.page
        try await fixture.logIn()
        try await page.navigate(fixture.base + "/nodes")
        let node = fixture.agents[0].nodeID
        try await page.clickAndWaitForLoad("a[href='/nodes/\(node)']")
        try await page.clickAndWaitForLoad("form[action$='/drain'] button")
        #expect(try await page.text(".question").contains("drain mode"))
        try await page.clickAndWaitForLoad(".confirm button[type=submit]")
        #expect(try await page.text("[role=status]").contains("is in drain mode"))
        #expect(try await page.text("#live-node").contains("Drain mode"))
        // The API agrees (asked from the page, over the same HTTPS, with the root token).
        #expect(try await fixture.api("/api/v1/node?id=\(node)", pick: "body[0].drain_mode") as? Bool == true)
        // And back.
        try await page.clickAndWaitForLoad("form[action$='/drain'] button")
        try await page.clickAndWaitForLoad(".confirm button[type=submit]")
        #expect(try await page.text("[role=status]").contains("out of drain mode"))
        await fixture.stop()
    }

    @Test func distributeATemplateWithLiveProgress() async throws {
        let fixture = try await Fixture.start()
        let page = fixture.page
        try await fixture.logIn()
        try await page.navigate(fixture.base + "/templates")
        try await page.clickAndWaitForLoad("a[href='/templates/\(Self.ubuntu)']")
        try await page.fill("#d-tag", "base")
        try await page.evaluate("window.__sameDocument = true")
        try await page.clickAndWaitForLoad("#distribute-button")
        #expect(try await page.text(".question").contains("to all nodes"))
        try await page.clickAndWaitForLoad(".confirm button[type=submit]")
        #expect(try await page.text("[role=status]").contains("Distribution"))
        try await page.evaluate("window.__sameDocument = true")
        try await page.waitFor(
            "document.querySelectorAll('#live-distributions tbody tr').length === 2 && [...document.querySelectorAll('#live-distributions tbody tr')].every(r => r.innerText.includes('done'))"
        )
        #expect(try await page.evaluate("window.__sameDocument === true") as? Bool == true)
        await fixture.stop()
    }
}

extension PortalBrowserTests {
    /// Problems on the current page: text under 4.5:1 contrast against its background,
    /// form fields without a label, not exactly one `h1`, no `main`.
    static let accessibilityAudit = """
        (() => {
          const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
            const p = m[1].split(',').map(x => parseFloat(x)); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
          const lum = (c) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
            return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
          const background = (el) => { while (el) { const c = parse(getComputedStyle(el).backgroundColor);
            if (c && c.a > 0.5) return c; el = el.parentElement; } return { r: 255, g: 255, b: 255, a: 1 }; };
          const problems = [];
          for (const el of document.querySelectorAll('body *')) {
            if (el.closest('.visually-hidden, svg, .skip') || el.getClientRects().length === 0) continue;
            if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
            const fg = lum(parse(getComputedStyle(el).color)), bg = lum(background(el));
            const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
            if (ratio < 4.5) problems.push('contrast ' + ratio.toFixed(2) + ' ' + el.tagName + '.' + el.className + ' "' + el.textContent.trim().slice(0, 40) + '"');
          }
          for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
            if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) problems.push('no label: ' + el.outerHTML.slice(0, 80));
          }
          if (document.querySelectorAll('h1').length !== 1) problems.push('h1 count ' + document.querySelectorAll('h1').length);
          if (!document.querySelector('main')) problems.push('no main');
          return problems;
        })()
        """

    /// Every view, in light and in dark mode: readable, labelled, reachable by keyboard.
    /// With `BERTH_SCREENSHOTS=<dir>` set, it also saves a PNG of each (`scripts/screenshots`).
    @Test func everyViewIsAccessibleInLightAndDark() async throws {
        let fixture = try await Fixture.start()
        let page = fixture.page
        let shots = ProcessInfo.processInfo.environment["BERTH_SCREENSHOTS"].map { URL(fileURLWithPath: $0) }
        if let shots { try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true) }

        try await page.navigate(fixture.base + "/login")
        var views: [(name: String, path: String)] = [("login", "/login")]
        try await fixture.logIn()
        // Some history to show: a started instance, a failed-to-place one, a distribution.
        try await page.navigate(fixture.base + "/instances/new")
        try await page.fill("#template", Self.ubuntu)
        try await page.fill("#external_id", "job-4711")
        try await page.clickAndWaitForLoad("form[action='/instances'] button[type=submit]")
        let instancePath = String(try await page.url.dropFirst(fixture.base.count))
        try await page.waitFor("document.getElementById('instance-state').innerText.includes('Started')")
        try await page.navigate(fixture.base + "/templates/\(Self.ubuntu)")
        try await page.clickAndWaitForLoad("#distribute-button")
        try await page.clickAndWaitForLoad(".confirm button[type=submit]")
        try await page.waitFor(
            "[...document.querySelectorAll('#live-distributions tbody tr')].every(r => r.innerText.includes('done'))"
        )

        views += [
            ("dashboard", "/"), ("nodes", "/nodes"), ("node", "/nodes/\(fixture.agents[0].nodeID)"),
            ("templates", "/templates"), ("template", "/templates/\(Self.ubuntu)"), ("instances", "/instances"),
            ("instance", instancePath), ("create-instance", "/instances/new"), ("groups", "/groups"),
            ("api-keys", "/keys"), ("permission-groups", "/permission-groups"), ("events", "/events"),
        ]
        for dark in [false, true] {
            try await page.setColorScheme(dark: dark)
            for view in views {
                try await page.navigate(fixture.base + view.path)
                let problems = try await page.evaluate(Self.accessibilityAudit) as? [String] ?? ["audit failed"]
                #expect(problems.isEmpty, "\(view.name) (\(dark ? "dark" : "light")): \(problems)")
                if let shots {
                    try await page.screenshot(
                        to: shots.appendingPathComponent("\(view.name)\(dark ? "-dark" : "").png")
                    )
                }
            }
        }
        // The audit itself catches what it should: grey on white, an unlabelled field.
        try await page.setColorScheme(dark: false)
        try await page.evaluate(
            "(() => { const p = document.createElement('p'); p.textContent = 'faint'; p.style.color = '#999'; p.style.background = '#fff'; document.querySelector('main').append(p, document.createElement('input')); return true; })()"
        )
        let planted = try await page.evaluate(Self.accessibilityAudit) as? [String] ?? []
        #expect(planted.contains { $0.hasPrefix("contrast") && $0.contains("faint") })
        #expect(planted.contains { $0.hasPrefix("no label") })
        // The keyboard reaches the skip link first, and it moves focus to the content.
        try await page.navigate(fixture.base + "/nodes")
        try await page.press("Tab")
        #expect(try await page.evaluate("document.activeElement.className") as? String == "skip")
        try await page.press("Enter")
        try await page.waitFor("document.activeElement && document.activeElement.id === 'main'")
        await fixture.stop()
    }
}
