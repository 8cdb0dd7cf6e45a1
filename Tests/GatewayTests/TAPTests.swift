import BerthTestSupport
import ControlPlane
import Foundation
import Testing
import _CryptoExtras

/// UAK keys and the TAP handshake as real clients do them, over HTTP on loopback.
@Suite struct TAPTests {
    static let root = "tap-root-token-1"

    /// hand → decrypt → shake; returns the shake's `data` object.
    static func handshake(
        _ http: HTTPTestClient,
        id: String,
        key: _RSA.Encryption.PrivateKey
    ) async throws -> [String: Any] {
        let hand = try await http.send("POST", "/tap/v1/hand", body: #"{"id":"\#(id)"}"#)
        #expect(hand.status == 200)
        // The raw base64 text: no JSON, no quotes, no trailing newline.
        #expect(!hand.text.hasPrefix("\""))
        #expect(!hand.text.hasSuffix("\n"))
        #expect(hand.contentType.hasPrefix("text/plain"))
        let ciphertext = try #require(Data(base64Encoded: hand.text))
        let secret = String(decoding: try key.decrypt(ciphertext, padding: .PKCS1_OAEP_SHA256), as: UTF8.self)
        #expect(secret.count == 27)  // 20 bytes, URL-safe base64, unpadded
        #expect(!secret.contains("=") && !secret.contains("+") && !secret.contains("/"))
        let shake = try await http.send("POST", "/tap/v1/shake", body: #"{"id":"\#(id)","secret":"\#(secret)"}"#)
        #expect(shake.status == 200, "\(shake.text)")
        #expect(shake.json["status"] == nil)  // plain JSON, not the envelope
        #expect(shake.json["id"] as? String == id)
        return try #require(shake.json["data"] as? [String: Any])
    }

    static func bearer(_ json: String) -> String { "Bearer " + Data(json.utf8).base64EncodedString() }

    @Test func aServerGeneratedKeyAuthenticatesWithEveryBearerSerialisation() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let created = try await gateway.http.send(
            "POST",
            "/api/v1/apikey",
            body: #"{ "id": "nathan", "ttl": 86400, "groups": ["g1"] }"#
        )
        #expect(created.status == 200, "\(created.text)")
        let privateBase64 = try #require(created.json["body"] as? String)
        #expect(privateBase64.hasPrefix("MIIE"))  // PKCS#1 RSA 2048
        let key = try _RSA.Encryption.PrivateKey(derRepresentation: try #require(Data(base64Encoded: privateBase64)))
        let anonymous = HTTPTestClient(base: gateway.base, authorization: nil)
        let data = try await Self.handshake(anonymous, id: "nathan", key: key)
        #expect(data["userName"] as? String == "nathan")
        let token = try #require(data["token"] as? String)
        let session = try #require(data["sessionId"] as? String)

        let compact = #"{"userName":"nathan","token":"\#(token)","sessionId":"\#(session)"}"#
        let pretty =
            "{\n  \"sessionId\" : \"\(session)\",\n  \"token\" : \"\(token)\",\n  \"userName\" : \"nathan\"\n}\n"
        let unpadded = "Bearer " + Data(compact.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        for header in [Self.bearer(compact), Self.bearer(pretty), unpadded] {
            let reply = try await HTTPTestClient(base: gateway.base, authorization: header).send("GET", "/api/v1/vm")
            #expect(reply.status == 200, "\(header): \(reply.text)")
        }
        let forged = #"{"userName":"nathan","token":"nope","sessionId":"\#(session)"}"#
        let refused = try await HTTPTestClient(base: gateway.base, authorization: Self.bearer(forged)).send(
            "GET",
            "/api/v1/vm"
        )
        #expect(refused.status == 401)
        #expect(refused.json["message"] as? String == "Authentication Required")
        let garbage = try await HTTPTestClient(base: gateway.base, authorization: "Bearer !!!").send(
            "GET",
            "/api/v1/vm"
        )
        #expect(garbage.status == 401)
        await gateway.stop()
        await cp.stop()
    }

    @Test func aClient4096BitKeyWorksAndASecretIsGoodOnce() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let key = try _RSA.Encryption.PrivateKey(keySize: .bits4096)
        let spki = key.publicKey.derRepresentation.base64EncodedString()
        let created = try await gateway.http.send(
            "POST",
            "/api/v1/apikey",
            body: #"{"id": "ci", "ttl": 3600, "groups": ["builders"], "publicKey": "\#(spki)"}"#
        )
        #expect(created.status == 200)
        #expect(created.json["body"] == nil)  // nothing to hand back: the client holds its key
        let anonymous = HTTPTestClient(base: gateway.base, authorization: nil)
        _ = try await Self.handshake(anonymous, id: "ci", key: key)

        // Replaying a secret fails; so does a secret for another key or an unknown key.
        let hand = try await anonymous.send("POST", "/tap/v1/hand", body: #"{"id":"ci"}"#)
        let secret = String(
            decoding: try key.decrypt(try #require(Data(base64Encoded: hand.text)), padding: .PKCS1_OAEP_SHA256),
            as: UTF8.self
        )
        #expect(
            try await anonymous.send("POST", "/tap/v1/shake", body: #"{"id":"ci","secret":"\#(secret)"}"#).status == 200
        )
        let replay = try await anonymous.send("POST", "/tap/v1/shake", body: #"{"id":"ci","secret":"\#(secret)"}"#)
        #expect(replay.status == 401)
        #expect(replay.json["message"] as? String == "Authentication Required")
        #expect(try await anonymous.send("POST", "/tap/v1/hand", body: #"{"id":"nobody"}"#).status == 401)
        await gateway.stop()
        await cp.stop()
    }

    /// The lock-out attack: unauthenticated hands for a known key id, between one client's
    /// hand and its shake. Secrets are not stored, so nothing can be evicted.
    @Test func aFloodOfHandsCannotLockOutAClientThatAnswersInTime() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let anonymous = HTTPTestClient(base: gateway.base, authorization: nil)
        var keys: [String: _RSA.Encryption.PrivateKey] = [:]
        for id in ["victim", "other"] {
            let created = try await gateway.http.send("POST", "/api/v1/apikey", body: #"{"id":"\#(id)","ttl":3600}"#)
            let body = try #require(created.json["body"] as? String)
            let der = try #require(Data(base64Encoded: body))
            keys[id] = try _RSA.Encryption.PrivateKey(derRepresentation: der)
        }
        let victim = try #require(keys["victim"])
        let hand = try await anonymous.send("POST", "/tap/v1/hand", body: #"{"id":"victim"}"#)
        let secret = String(
            decoding: try victim.decrypt(try #require(Data(base64Encoded: hand.text)), padding: .PKCS1_OAEP_SHA256),
            as: UTF8.self
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for _ in 0..<250 {
                        let flood = try await anonymous.send("POST", "/tap/v1/hand", body: #"{"id":"victim"}"#)
                        #expect(flood.status == 200, "worker \(worker)")
                    }
                }
            }
            try await group.waitForAll()
        }
        // A secret for one key is no good for another.
        let crossed = try await anonymous.send("POST", "/tap/v1/shake", body: #"{"id":"other","secret":"\#(secret)"}"#)
        #expect(crossed.status == 401)
        // A forged secret of the right shape is refused.
        let forged = try await anonymous.send(
            "POST",
            "/tap/v1/shake",
            body: #"{"id":"victim","secret":"AAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#
        )
        #expect(forged.status == 401)
        let shake = try await anonymous.send("POST", "/tap/v1/shake", body: #"{"id":"victim","secret":"\#(secret)"}"#)
        #expect(shake.status == 200, "\(shake.text)")
        // And still only once.
        let again = try await anonymous.send("POST", "/tap/v1/shake", body: #"{"id":"victim","secret":"\#(secret)"}"#)
        #expect(again.status == 401)
        await gateway.stop()
        await cp.stop()
    }

    @Test func aLifetimePastTheClocksRangeIsRefusedAndTheControlPlaneLives() async throws {
        // Found by schemathesis: ttl 72818587758591 overflowed the expiry in microseconds and
        // the arithmetic trap stopped the control plane.
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        for body in [
            #"{"id": "k", "ttl": 72818587758591}"#, #"{"id": "k", "ttl": 9223372036854775807}"#,
            #"{"id": "k", "ttl": 0}"#,
        ] {
            let created = try await gateway.http.send("POST", "/api/v1/apikey", body: body)
            #expect(created.failedOnItsMerits && (created.json["message"] as? String ?? "").contains("ttl"), "\(created.text)")
        }
        _ = try await gateway.http.send("POST", "/api/v1/apikey", body: #"{"id": "k", "ttl": 60}"#)
        let updated = try await gateway.http.send("PUT", "/api/v1/apikey", body: #"{"id": "k", "ttl": 72818587758591, "groups": []}"#)
        #expect(updated.failedOnItsMerits, "\(updated.text)")
        #expect(try await gateway.http.send("GET", "/api/v1/status").json["status"] as? String == "OK")
        await gateway.stop()
        await cp.stop()
    }

    /// Sessions are stored (docs/ha.md): a restart, like a failover, keeps callers signed in.
    @Test func aSessionOutlivesARestartOfTheControlPlane() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let generated = try #require(
            try await gateway.http.send("POST", "/api/v1/apikey", body: #"{"id": "k", "ttl": 600}"#).json["body"] as? String
        )
        let key = try _RSA.Encryption.PrivateKey(derRepresentation: try #require(Data(base64Encoded: generated)))
        let session = try await Self.handshake(HTTPTestClient(base: gateway.base, authorization: nil), id: "k", key: key)
        let bearer = Self.bearer(String(decoding: try JSONSerialization.data(withJSONObject: session), as: UTF8.self))
        #expect(try await HTTPTestClient(base: gateway.base, authorization: bearer).send("GET", "/api/v1/vm").status == 200)
        await gateway.stop()

        let restarted = try await cp.restart()
        let again = try await TestGateway.start(restarted, rootToken: Self.root)
        let client = HTTPTestClient(base: again.base, authorization: bearer)
        #expect(try await client.send("GET", "/api/v1/vm").status == 200)
        // Deleting the key still ends the stored session.
        #expect(try await again.http.send("DELETE", "/api/v1/apikey", body: #"{"id": "k"}"#).status == 200)
        #expect(try await client.send("GET", "/api/v1/vm").status == 401)
        let third = try await restarted.restart()
        let last = try await TestGateway.start(third, rootToken: Self.root)
        #expect(try await HTTPTestClient(base: last.base, authorization: bearer).send("GET", "/api/v1/vm").status == 401)
        await last.stop()
        await again.stop()
        await third.stop()
    }

    @Test func sessionsExpireAndEndWithTheirKey() async throws {
        // A zero session lifetime: every session is already past its absolute expiry.
        let expired = try await TestControlPlane.start { $0.tapSessionTTL = 0 }
        let gateway = try await TestGateway.start(expired, rootToken: Self.root)
        let body = try #require(
            try await gateway.http.send("POST", "/api/v1/apikey", body: #"{"id": "k", "ttl": 60, "groups": []}"#).json[
                "body"
            ] as? String
        )
        let key = try _RSA.Encryption.PrivateKey(derRepresentation: try #require(Data(base64Encoded: body)))
        let data = try await Self.handshake(HTTPTestClient(base: gateway.base, authorization: nil), id: "k", key: key)
        let json = String(decoding: try JSONSerialization.data(withJSONObject: data), as: UTF8.self)
        #expect(
            try await HTTPTestClient(base: gateway.base, authorization: Self.bearer(json)).send("GET", "/api/v1/vm")
                .status == 401
        )
        await gateway.stop()
        await expired.stop()

        let cp = try await TestControlPlane.start()
        let live = try await TestGateway.start(cp, rootToken: Self.root)
        let generated = try #require(
            try await live.http.send("POST", "/api/v1/apikey", body: #"{"id": "k", "ttl": 60, "groups": ["a"]}"#).json[
                "body"
            ] as? String
        )
        let liveKey = try _RSA.Encryption.PrivateKey(derRepresentation: try #require(Data(base64Encoded: generated)))
        let session = try await Self.handshake(
            HTTPTestClient(base: live.base, authorization: nil),
            id: "k",
            key: liveKey
        )
        let sessionJSON = String(decoding: try JSONSerialization.data(withJSONObject: session), as: UTF8.self)
        let client = HTTPTestClient(base: live.base, authorization: Self.bearer(sessionJSON))
        #expect(try await client.send("GET", "/api/v1/vm").status == 200)

        // Key management shapes: list, update, then delete (which ends the session at once).
        let listed = try #require(try await live.http.send("GET", "/api/v1/apikey").json["body"] as? [[String: Any]])
        #expect(listed.first?["id"] as? String == "k")
        #expect(listed.first?["groups"] as? [String] == ["a"])
        #expect((listed.first?["expiration"] as? String)?.hasSuffix("Z") == true)
        #expect(
            try await live.http.send("PUT", "/api/v1/apikey", body: #"{ "id": "k", "groups": ["test1","test3"] }"#)
                .status == 200
        )
        let updated = try #require(
            try await live.http.send("GET", "/api/v1/apikey?id=k").json["body"] as? [[String: Any]]
        )
        #expect(updated.first?["groups"] as? [String] == ["test1", "test3"])
        #expect(
            try await live.http.send("POST", "/api/v1/apikey", body: #"{"id": "k", "ttl": 60, "groups": []}"#).failedOnItsMerits
        )
        #expect(try await live.http.send("DELETE", "/api/v1/apikey", body: #"{ "id": "k" }"#).status == 200)
        #expect(try await client.send("GET", "/api/v1/vm").status == 401)
        #expect(try await live.http.send("DELETE", "/api/v1/apikey", body: #"{ "id": "k" }"#).failedOnItsMerits)

        // A copy of the database holds no usable session token or secret.
        let token = try #require(session["token"] as? String)
        for suffix in ["", "-wal"] {
            let file = cp.directory.databasePath + suffix
            if let contents = FileManager.default.contents(atPath: file) {
                #expect(contents.range(of: Data(token.utf8)) == nil, "token found in \(file)")
            }
        }
        await live.stop()
        await cp.stop()
    }
}
