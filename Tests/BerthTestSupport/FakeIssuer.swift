import Crypto
import Foundation
import Hummingbird
import JWTKit
import Synchronization
import TLSTransport
import WireProtocol

/// A local OpenID provider on loopback: a discovery document, a JWKS, a token endpoint that
/// grants client credentials and authorization codes (PKCE S256 required), and an
/// authorization endpoint that signs in ``signInAs`` at once. It can rotate its key and sign
/// anything a test asks.
public final class FakeIssuer: Sendable {
    public struct Key: Sendable {
        public let kid: String
        public let privateKey: ES256PrivateKey
    }

    struct Claims: JWTPayload {
        var iss: String
        var aud: [String]
        var exp: Int
        var nbf: Int?
        var sub: String
        var name: String?
        var groups: [String]?
        var nonce: String?

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// An authorization the endpoint granted, waiting for its code to be redeemed.
    struct Pending: Sendable {
        let challenge: String
        let redirectURI: String
        let nonce: String
        let name: String
        let groups: [String]
    }

    public static let clientID = "berth-ci"
    public static let clientSecret = "ci-secret-0123456789"

    /// The published keys; the first one signs.
    public let keys = Mutex<[Key]>([Key(kid: "k1", privateKey: ES256PrivateKey())])
    public let jwksFetches = Mutex(0)
    public let discoveryFetches = Mutex(0)
    /// When set, the discovery document answers 503 (an issuer having an outage).
    public let down = Mutex(false)
    /// Who the authorization endpoint signs in.
    public let signInAs = Mutex<(name: String, groups: [String])>(("alice", []))
    /// The query of the last authorization request.
    public let lastAuthorization = Mutex<[String: String]>([:])
    /// When set, the authorization endpoint shows a page with an "Approve" link (`#approve`)
    /// to the callback, as a real issuer's login page ends: the way back is then a navigation
    /// this site starts, not a redirect of the gateway's own.
    public let interactive = Mutex(false)
    /// When set, ID tokens carry this nonce instead of the one asked for (a replayed token).
    public let nonceOverride = Mutex<String?>(nil)
    private let pending = Mutex<[String: Pending]>([:])
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let port = Mutex(0)
    /// The host in the issuer's URL (`localhost` makes it another site than `127.0.0.1`).
    private let host: String

    public init(host: String = "127.0.0.1") { self.host = host }

    public var issuer: String { "http://\(host):\(port.withLock { $0 })" }

    public func start() async throws {
        let router = Router()
        router.get("/.well-known/openid-configuration") { _, _ -> Response in
            self.discoveryFetches.withLock { $0 += 1 }
            if self.down.withLock({ $0 }) { return Response(status: .serviceUnavailable) }
            return Self.json([
                "issuer": self.issuer, "jwks_uri": self.issuer + "/jwks", "token_endpoint": self.issuer + "/token",
                "authorization_endpoint": self.issuer + "/authorize",
                "grant_types_supported": ["client_credentials", "authorization_code"],
                "code_challenge_methods_supported": ["S256"],
            ])
        }
        router.get("/jwks") { _, _ -> Response in
            self.jwksFetches.withLock { $0 += 1 }
            let published = self.keys.withLock { $0 }.map { key -> [String: String] in
                let (x, y) = key.privateKey.publicKey.parameters!
                return ["kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": key.kid, "x": x, "y": y]
            }
            return Self.json(["keys": published])
        }
        router.get("/authorize") { request, _ -> Response in self.authorize(Self.form(request.uri.query ?? "")) }
        router.post("/token") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 16)
            return try await self.token(Self.form(String(buffer: body)))
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) },
            logger: TestLogging.logger("issuer")
        )
        task.withLock { $0 = Task { try await app.runService() } }
        var iterator = ports.makeAsyncIterator()
        let bound = await iterator.next() ?? 0
        port.withLock { $0 = bound }
    }

    public func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        _ = await running?.result
    }

    /// Signs in ``signInAs`` at once: redirects to `redirect_uri` with a one-time code.
    private func authorize(_ query: [String: String]) -> Response {
        lastAuthorization.withLock { $0 = query }
        guard query["response_type"] == "code", query["client_id"] == Self.clientID,
            query["code_challenge_method"] == "S256", let challenge = query["code_challenge"], !challenge.isEmpty,
            let redirectURI = query["redirect_uri"], let state = query["state"]
        else { return Response(status: .badRequest) }
        let code = Base64URL.encode(Data(RandomID.bytes(24)))
        let user = signInAs.withLock { $0 }
        pending.withLock {
            $0[code] = Pending(
                challenge: challenge,
                redirectURI: redirectURI,
                nonce: query["nonce"] ?? "",
                name: user.name,
                groups: user.groups
            )
        }
        let back = redirectURI + (redirectURI.contains("?") ? "&" : "?") + "code=\(code)&state=\(state)"
        var headers = HTTPFields()
        if interactive.withLock({ $0 }) {
            headers[.contentType] = "text/html; charset=utf-8"
            let page = "<!doctype html><title>Fake issuer</title><a id=\"approve\" href=\"\(back)\">Approve</a>"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        headers[.location] = back
        return Response(status: .found, headers: headers)
    }

    private func token(_ form: [String: String]) async throws -> Response {
        switch form["grant_type"] {
        case "client_credentials":
            guard form["client_id"] == Self.clientID, form["client_secret"] == Self.clientSecret else {
                return Response(status: .unauthorized)
            }
            let token = try await sign(name: "ci-robot", groups: ["ios"])
            return Self.json(["access_token": token, "token_type": "Bearer", "expires_in": 300])
        case "authorization_code":
            // A code works once, for the client and redirect URI it was issued to, and only
            // with the verifier whose S256 hash was the challenge.
            guard let code = form["code"], let grant = pending.withLock({ $0.removeValue(forKey: code) }),
                form["client_id"] == Self.clientID, form["redirect_uri"] == grant.redirectURI,
                let verifier = form["code_verifier"],
                Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8)))) == grant.challenge
            else { return Self.json(["error": "invalid_grant"], status: .badRequest) }
            let idToken = try await sign(
                name: grant.name,
                groups: grant.groups,
                nonce: nonceOverride.withLock { $0 } ?? grant.nonce
            )
            return Self.json(["access_token": idToken, "id_token": idToken, "token_type": "Bearer", "expires_in": 300])
        default:
            return Self.json(["error": "unsupported_grant_type"], status: .badRequest)
        }
    }

    /// A token signed by `key` (the signing key when `nil`) under `kid` (the key's own when `nil`).
    public func sign(
        name: String = "alice",
        groups: [String] = [],
        issuer: String? = nil,
        audience: String = FakeIssuer.clientID,
        expiresIn: Int = 300,
        notBefore: Int? = nil,
        nonce: String? = nil,
        key: ES256PrivateKey? = nil,
        kid: String? = nil
    ) async throws -> String {
        let signing = keys.withLock { $0[0] }
        let now = Int(Date().timeIntervalSince1970)
        let claims = Claims(
            iss: issuer ?? self.issuer,
            aud: [audience],
            exp: now + expiresIn,
            nbf: notBefore.map { now + $0 },
            sub: "sub-\(name)",
            name: name,
            groups: groups,
            nonce: nonce
        )
        let collection = JWTKeyCollection()
        let id = JWKIdentifier(string: kid ?? signing.kid)
        await collection.add(ecdsa: key ?? signing.privateKey, kid: id)
        return try await collection.sign(claims, kid: id)
    }

    /// Publishes a new signing key under a new id, and stops publishing the old one.
    public func rotate() {
        keys.withLock { $0 = [Key(kid: "k\($0.count + 1)-rotated", privateKey: ES256PrivateKey())] }
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = try! JSONSerialization.data(withJSONObject: object)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A form or query string's fields (`+` is a space).
    static func form(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }
}
