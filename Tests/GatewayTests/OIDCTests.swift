import BerthTestSupport
import ControlPlane
import Foundation
import Hummingbird
import JWTKit
import RESTGateway
import Synchronization
import Testing

/// OIDC bearer tokens against a local fake issuer, over real sockets.
@Suite struct OIDCTests {
    static let root = "oidc-root-token-0123"

    static func gateway(
        _ cp: TestControlPlane,
        _ issuer: FakeIssuer,
        keyRefreshInterval: Double = 10
    ) async throws -> TestGateway {
        try await TestGateway.start(cp, rootToken: root) {
            var oidc = OIDCConfiguration(issuer: issuer.issuer, clientID: FakeIssuer.clientID)
            oidc.keyRefreshInterval = keyRefreshInterval
            $0.oidc = oidc
        }
    }

    static func client(_ gateway: TestGateway, _ token: String) -> HTTPTestClient {
        HTTPTestClient(base: gateway.base, authorization: "Bearer " + token)
    }

    @Test func theAuthConfigurationNeedsNoCredentialAndNamesTheIssuer() async throws {
        let issuer = FakeIssuer()
        try await issuer.start()
        let cp = try await TestControlPlane.start()
        let gateway = try await Self.gateway(cp, issuer)
        let reply = try await HTTPTestClient(base: gateway.base, authorization: nil).send("GET", "/config/v1/auth")
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.json["status"] as? String == "OK")
        let oidc = try #require((reply.json["body"] as? [String: Any])?["oidc"] as? [String: Any])
        #expect(oidc["provider_url"] as? String == issuer.issuer)
        #expect(oidc["user_name_field"] as? String == "name")
        #expect(oidc["groups_field"] as? String == "groups")
        await gateway.stop()
        await cp.stop()
        await issuer.stop()
    }

    @Test func aTokenFromTheTokenEndpointWorksAndBadTokensAre401() async throws {
        let issuer = FakeIssuer()
        try await issuer.start()
        let cp = try await TestControlPlane.start()
        let gateway = try await Self.gateway(cp, issuer)

        // Client credentials at the issuer's token endpoint, as a CI system would fetch one.
        let granted = try await HTTPTestClient(base: issuer.issuer, authorization: nil).send(
            "POST",
            "/token",
            body: "grant_type=client_credentials&client_id=\(FakeIssuer.clientID)&client_secret=\(FakeIssuer.clientSecret)"
        )
        #expect(granted.status == 200, "\(granted.text)")
        let token = try #require(granted.json["access_token"] as? String)
        let good = try await Self.client(gateway, token).send("GET", "/api/v1/vm")
        #expect(good.status == 200, "\(good.text)")
        #expect(good.json["status"] as? String == "OK")

        let forger = ES256PrivateKey()
        let bad: [(String, String)] = [
            ("expired", try await issuer.sign(expiresIn: -120)),
            ("not yet valid", try await issuer.sign(notBefore: 600)),
            ("wrong audience", try await issuer.sign(audience: "someone-else")),
            ("wrong issuer", try await issuer.sign(issuer: "http://127.0.0.1:1/evil")),
            ("forged under the real key id", try await issuer.sign(key: forger)),
            ("signed by an unknown key", try await issuer.sign(key: forger, kid: "nobody")),
            ("not a JWT at all", "aaa.bbb.ccc"),
        ]
        for (what, token) in bad {
            let reply = try await Self.client(gateway, token).send("GET", "/api/v1/vm")
            #expect(reply.status == 401, "\(what): \(reply.text)")
            #expect(reply.json["message"] as? String == "Authentication Required", "\(what)")
        }
        // Within the clock skew (60 s) an expired token still passes.
        let skewed = try await Self.client(gateway, try await issuer.sign(expiresIn: -20)).send("GET", "/api/v1/vm")
        #expect(skewed.status == 200, "\(skewed.text)")
        await gateway.stop()
        await cp.stop()
        await issuer.stop()
    }

    @Test func aRotatedKeyIsFetchedAndUnknownKeyIdsCannotMakeTheGatewayHammerTheIssuer() async throws {
        let issuer = FakeIssuer()
        try await issuer.start()
        let cp = try await TestControlPlane.start()
        let rotating = try await Self.gateway(cp, issuer, keyRefreshInterval: 0)
        let before = try await issuer.sign()
        #expect(try await Self.client(rotating, before).send("GET", "/api/v1/vm").status == 200)
        issuer.rotate()
        let after = try await issuer.sign()
        let reply = try await Self.client(rotating, after).send("GET", "/api/v1/vm")
        #expect(reply.status == 200, "a token under the rotated key: \(reply.text)")
        // The old key is no longer published: its tokens stop working.
        #expect(try await Self.client(rotating, before).send("GET", "/api/v1/vm").status == 401)

        // With the default interval, a burst of unknown key ids costs one fetch of the set.
        let limited = try await Self.gateway(cp, issuer)
        #expect(try await Self.client(limited, try await issuer.sign()).send("GET", "/api/v1/vm").status == 200)
        let fetchesBefore = issuer.jwksFetches.withLock { $0 }
        for index in 0..<5 {
            let forged = try await issuer.sign(key: ES256PrivateKey(), kid: "forged-\(index)")
            #expect(try await Self.client(limited, forged).send("GET", "/api/v1/vm").status == 401)
        }
        #expect(issuer.jwksFetches.withLock { $0 } - fetchesBefore <= 1)
        await limited.stop()
        await rotating.stop()
        await cp.stop()
        await issuer.stop()
    }

    /// An issuer that is down makes OIDC calls 503, not 401: the token may be fine, and a
    /// 401 would send every client to fetch a new one from an issuer that is down.
    @Test func anUnreachableIssuerIs503NotAuthenticationRequired() async throws {
        let issuer = FakeIssuer()
        try await issuer.start()
        let token = try await issuer.sign()
        await issuer.stop()
        let cp = try await TestControlPlane.start()
        let gateway = try await Self.gateway(cp, issuer)
        let reply = try await Self.client(gateway, token).send("GET", "/api/v1/vm")
        #expect(reply.status == 503, "\(reply.text)")
        #expect(reply.json["status"] as? String == "FAIL")
        #expect((reply.json["message"] as? String)?.contains("OIDC issuer") == true)
        await gateway.stop()
        await cp.stop()
    }

    @Test func theGroupsClaimNamesPermissionGroupsUnderAuthorization() async throws {
        let issuer = FakeIssuer()
        try await issuer.start()
        let cp = try await TestControlPlane.start { $0.authorization = true }
        let gateway = try await Self.gateway(cp, issuer)
        try await PermissionHTTPTests.grant(gateway, group: "ios", ["list_vms"])

        let member = Self.client(gateway, try await issuer.sign(name: "alice", groups: ["ios"]))
        let listed = try await member.send("GET", "/api/v1/vm")
        #expect(listed.status == 200, "\(listed.text)")
        #expect(listed.json["status"] as? String == "OK")
        let refused = try await member.send("DELETE", "/api/v1/node", body: #"{"node_id":"nope"}"#)
        #expect(refused.status == 403, "\(refused.text)")
        #expect((refused.json["message"] as? String)?.contains("delete_node") == true)

        let outsider = Self.client(gateway, try await issuer.sign(name: "bob", groups: ["android"]))
        #expect(try await outsider.send("GET", "/api/v1/vm").status == 403)
        // The user name is a subject too: a grant to "bob" reaches bob's token.
        try await PermissionHTTPTests.grant(gateway, group: "bob", ["list_vms"])
        #expect(try await outsider.send("GET", "/api/v1/vm").status == 200)
        await gateway.stop()
        await cp.stop()
        await issuer.stop()
    }

    /// While the issuer is down and no keys are cached, tokens get 503 at once: the gateway
    /// asks the issuer again once per refresh interval, not once per request.
    @Test func whileTheIssuerIsDownItIsAskedOncePerIntervalNotPerRequest() async throws {
        let issuer = FakeIssuer()
        try await issuer.start()
        issuer.down.withLock { $0 = true }
        let cp = try await TestControlPlane.start()
        let gateway = try await Self.gateway(cp, issuer)
        let token = try await issuer.sign()
        for _ in 0..<5 {
            let reply = try await Self.client(gateway, token).send("GET", "/api/v1/vm")
            #expect(reply.status == 503, "\(reply.text)")
            #expect((reply.json["message"] as? String)?.contains("answered 503") == true, "\(reply.text)")
        }
        #expect(issuer.discoveryFetches.withLock { $0 } == 1)

        // With no interval to wait out, the next request after the issuer is back succeeds.
        let eager = try await Self.gateway(cp, issuer, keyRefreshInterval: 0)
        #expect(try await Self.client(eager, token).send("GET", "/api/v1/vm").status == 503)
        issuer.down.withLock { $0 = false }
        #expect(try await Self.client(eager, token).send("GET", "/api/v1/vm").status == 200)
        await eager.stop()
        await gateway.stop()
        await cp.stop()
        await issuer.stop()
    }
}
