import BerthTestSupport
import ControlPlane
import Foundation
import Testing
import _CryptoExtras

/// Two gateways behind a round-robin client, in front of two control-plane replicas on one
/// PostgreSQL database (issue 15, docs/ha.md step 7): the API and the dashboard have one
/// set of sessions, whichever gateway a call reaches, and keep it through a failover.
@Suite struct GatewayPairTests {
    static let root = "gateway-pair-root-token"

    static var quick: ControlPlaneReplica.Timing { TestReplica.quickTiming }

    /// Sends each call to the next gateway in turn, as a round-robin load balancer does.
    final class RoundRobin: @unchecked Sendable {
        let bases: [String]
        private let lock = NSLock()
        private var turn = 0
        init(_ gateways: [TestGateway]) { bases = gateways.map(\.base) }

        func next() -> String {
            lock.withLock {
                defer { turn += 1 }
                return bases[turn % bases.count]
            }
        }

        func send(_ method: String, _ path: String, body: String? = nil, authorization: String?) async throws
            -> HTTPTestClient.Reply
        {
            try await HTTPTestClient(base: next(), authorization: authorization).send(method, path, body: body)
        }
    }

    @Test func twoGatewaysServeOneSetOfSessionsAcrossAFailover() async throws {
        try #require(TestPostgres.isAvailable, "needs PostgreSQL (apt-get install postgresql) and root for runuser")
        let store = try await TestStore(.postgres)
        let a = try await TestReplica.start(store: store, timing: Self.quick)
        let leaderA = try await a.waitLeading()
        let b = try await TestReplica.start(store: store, timing: Self.quick)
        try await b.waitRole { $0 == .following(leader: "127.0.0.1:\(a.port)") }
        let trust = leaderA.authority.certificate
        let one = try await TestGateway.start(
            identity: try await leaderA.issueGatewayIdentity(name: "gw-1"),
            trustRoot: trust,
            at: a.address,
            others: [b.address],
            rootToken: Self.root
        )
        // The second gateway is given the follower first, and is sent on to the leader.
        let two = try await TestGateway.start(
            identity: try await leaderA.issueGatewayIdentity(name: "gw-2"),
            trustRoot: trust,
            at: b.address,
            others: [a.address],
            rootToken: Self.root
        )
        let client = RoundRobin([one, two])

        // A key, then the TAP handshake: the hand on one gateway, the shake on the other.
        let created = try await client.send(
            "POST",
            "/api/v1/apikey",
            body: #"{"id": "ci", "ttl": 600, "groups": []}"#,
            authorization: one.http.authorization
        )
        let generated = try #require(created.json["body"] as? String, "\(created.text)")
        let der = try #require(Data(base64Encoded: generated))
        let key = try _RSA.Encryption.PrivateKey(derRepresentation: der)
        let hand = try await client.send("POST", "/tap/v1/hand", body: #"{"id":"ci"}"#, authorization: nil)
        #expect(hand.status == 200, "\(hand.text)")
        let ciphertext = try #require(Data(base64Encoded: hand.text))
        let secret = String(decoding: try key.decrypt(ciphertext, padding: .PKCS1_OAEP_SHA256), as: UTF8.self)
        let shake = try await client.send(
            "POST",
            "/tap/v1/shake",
            body: #"{"id":"ci","secret":"\#(secret)"}"#,
            authorization: nil
        )
        let data = try #require(shake.json["data"] as? [String: Any], "\(shake.text)")
        let bearer = TAPTests.bearer(String(decoding: try JSONSerialization.data(withJSONObject: data), as: UTF8.self))
        for _ in 0..<4 {
            let listed = try await client.send("GET", "/api/v1/vm", authorization: bearer)
            #expect(listed.status == 200 && listed.json["status"] as? String == "OK", "\(listed.status) \(listed.text)")
        }

        // The dashboard: log in through one gateway, browse through both.
        let browser = TestBrowser(base: two.base)
        #expect(try await browser.logIn(token: Self.root).status == 303)
        for base in client.bases {
            let page = try await browser.request(base + "/")
            #expect(page.status == 200, "\(base): \(page.headers)")
        }

        // The leader goes; the follower takes over. Calls through either gateway may wait
        // or see 503 with the envelope while the gateways redial, and never anything else.
        await a.stop()
        try await b.waitLeading()
        var refused: [HTTPTestClient.Reply] = []
        var answered = 0
        for _ in 0..<40 where answered < 4 {
            let reply = try await client.send("GET", "/api/v1/vm", authorization: bearer)
            if reply.status == 200 {
                #expect(reply.json["status"] as? String == "OK", "\(reply.text)")
                answered += 1
            } else {
                refused.append(reply)
            }
        }
        #expect(answered == 4, "refused: \(refused.map { "\($0.status) \($0.text)" })")
        for reply in refused {
            #expect(reply.status == 503, "\(reply.status) \(reply.text)")
            #expect(reply.json["status"] as? String == "FAIL" && reply.json["message"] is String, "\(reply.text)")
        }

        // The same TAP session and the same dashboard login, on both gateways, after it.
        for base in client.bases {
            let page = try await browser.request(base + "/")
            #expect(page.status == 200, "\(base) after the failover: \(page.headers)")
        }
        // Logout through one gateway ends the session on the other too.
        let logout = try await browser.request(
            one.base + "/logout",
            form: [("_csrf", try await browser.csrf(one.base + "/"))]
        )
        #expect(logout.status == 303)
        let after = try await browser.request(two.base + "/")
        #expect(after.status == 303 && after.header("Location")?.hasPrefix("/login") == true, "\(after.headers)")

        await two.stop()
        await one.stop()
        await b.stop()
    }
}
