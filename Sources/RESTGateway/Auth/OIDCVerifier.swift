import AsyncHTTPClient
import Foundation
import JWTKit
import NIOCore
import TLSTransport
import WireProtocol

/// Checks OIDC bearer tokens (JWTs) against the issuer's published keys.
///
/// The signature is checked by jwt-kit against the issuer's JWKS, found through its
/// discovery document. A token signed with a key id the set does not hold makes the verifier
/// fetch the set again (at most once per
/// ``OIDCConfiguration/keyRefreshInterval``), so a rotated key works at
/// once and a flood of forged key ids cannot make it hammer the issuer. Then `iss`, `aud`,
/// `exp` and `nbf` are checked, the last two with the configured clock skew. Every failure
/// is the same 401 that Anka clients match on.
public actor OIDCVerifier {
    public let configuration: OIDCConfiguration
    let http: HTTPClient
    private var discovered: OIDCDiscovery?
    private var keys: JWTKeyCollection?
    private var knownKeyIDs: Set<String> = []
    private var lastFetch: ContinuousClock.Instant?
    /// The last failed fetch of the key set, and why: while the issuer is down and no keys
    /// are cached, tokens get that 503 at once for ``OIDCConfiguration/keyRefreshInterval``
    /// instead of every request waiting on the issuer again.
    private var lastFailure: (at: ContinuousClock.Instant, error: GatewayError)?

    public init(configuration: OIDCConfiguration, http: HTTPClient = .shared) {
        self.configuration = configuration
        self.http = http
    }

    /// Whether `credentials` (what follows `Bearer `) look like a JWT: three base64url parts.
    /// A TAP bearer is base64 of JSON and has no dots.
    public static func looksLikeJWT(_ credentials: String) -> Bool {
        let parts = credentials.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        return parts.allSatisfy { part in
            part.utf8.allSatisfy { byte in
                (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                    || byte == 0x2D || byte == 0x5F
            }
        }
    }

    /// The principal a valid token speaks for, or ``GatewayError/authenticationRequired``.
    public func principal(for token: String) async throws -> Principal {
        principal(of: try await checkedClaims(token, audience: configuration.expectedAudience))
    }

    /// The claims of a token whose signature, `iss`, `aud` (must hold `audience`), `exp` and
    /// `nbf` check out; ``GatewayError/authenticationRequired`` otherwise (503 while the
    /// issuer cannot be reached).
    func checkedClaims(_ token: String, audience: String) async throws -> OIDCClaims {
        let claims: OIDCClaims
        do {
            claims = try await verifiedClaims(token)
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError.authenticationRequired
        }
        let skew = configuration.clockSkew
        let now = Date()
        guard claims.iss == configuration.normalizedIssuer || claims.iss == configuration.issuer,
            claims.aud.contains(audience),
            now.timeIntervalSince1970 < claims.exp + skew,
            claims.nbf.map({ now.timeIntervalSince1970 + skew >= $0 }) ?? true
        else { throw GatewayError.authenticationRequired }
        return claims
    }

    /// The user and groups the configured claims name.
    func principal(of claims: OIDCClaims) -> Principal {
        let name = claims.strings[configuration.userNameClaim] ?? claims.sub ?? ""
        let groups = claims.stringLists[configuration.groupsClaim] ?? claims.strings[configuration.groupsClaim].map { [$0] } ?? []
        return Principal(kind: .oidc, name: name, groups: groups)
    }

    private func verifiedClaims(_ token: String) async throws -> OIDCClaims {
        var current = try await keySet(refresh: false)
        // A key id the set lacks: perhaps the issuer rotated its keys. Fetch the set again,
        // unless it was fetched within the refresh interval.
        if let kid = Self.header(of: token)?["kid"] as? String, !knownKeyIDs.contains(kid) {
            let due = lastFetch.map { ContinuousClock.now - $0 >= .seconds(configuration.keyRefreshInterval) } ?? true
            guard due else { throw GatewayError.authenticationRequired }
            current = try await keySet(refresh: true)
            guard knownKeyIDs.contains(kid) else { throw GatewayError.authenticationRequired }
        }
        return try await current.verify(token, as: OIDCClaims.self)
    }

    /// The issuer's discovery document: fetched once, and again whenever the key set is.
    func discovery(refresh: Bool = false) async throws -> OIDCDiscovery {
        if let discovered, !refresh { return discovered }
        let url = configuration.normalizedIssuer + "/.well-known/openid-configuration"
        // Fetched outside `try?`: an issuer that is down must say so, not pass for a bad document.
        let document = try await fetchJSON(url)
        guard let object = (try? JSONSerialization.jsonObject(with: document)) as? [String: Any],
            let jwksURI = object["jwks_uri"] as? String
        else { throw GatewayError(.serviceUnavailable, "the OIDC issuer's discovery document has no jwks_uri") }
        let fresh = OIDCDiscovery(
            jwksURI: jwksURI,
            authorizationEndpoint: object["authorization_endpoint"] as? String,
            tokenEndpoint: object["token_endpoint"] as? String
        )
        discovered = fresh
        return fresh
    }

    private func keySet(refresh: Bool) async throws -> JWTKeyCollection {
        if let keys, !refresh { return keys }
        if keys == nil, let failure = lastFailure,
            ContinuousClock.now - failure.at < .seconds(configuration.keyRefreshInterval)
        {
            throw failure.error
        }
        lastFetch = ContinuousClock.now
        let jwks: JWKS
        do {
            let jwksURI = try await discovery(refresh: true).jwksURI
            let published = try await fetchJSON(jwksURI)
            guard let decoded = try? JSONDecoder().decode(JWKS.self, from: published) else {
                throw GatewayError(.serviceUnavailable, "the OIDC issuer's key set at \(jwksURI) is not a JWKS")
            }
            jwks = decoded
        } catch let error as GatewayError {
            lastFailure = (ContinuousClock.now, error)
            throw error
        }
        lastFailure = nil
        let fresh = JWTKeyCollection()
        var added: Set<String> = []
        // No key is a default, so a token is checked only against the key its `kid` names;
        // a set of one key serves tokens without a `kid` too. A key jwt-kit cannot use (an
        // encryption key, an unknown type) is skipped, not fatal to the others.
        for jwk in jwks.keys {
            guard let kid = jwk.keyIdentifier,
                (try? await fresh.add(jwk: jwk, isDefault: jwks.keys.count == 1)) != nil
            else { continue }
            added.insert(kid.string)
        }
        keys = fresh
        knownKeyIDs = added
        return fresh
    }

    /// The issuer's answer at `url`. An issuer that cannot be reached, or answers with
    /// anything but 200, is a 503: the token may be fine, and a 401 would send clients
    /// to fetch a new one from an issuer that is down.
    func fetchJSON(_ url: String) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let (status, body) = try await exchange(request)
        guard status == 200 else {
            throw GatewayError(.serviceUnavailable, "the OIDC issuer answered \(status) for \(url)")
        }
        return body
    }

    /// Sends `request` to the issuer and returns its status code and body (at most 1 MiB);
    /// an issuer that cannot be reached is a 503.
    func exchange(_ request: HTTPClientRequest) async throws -> (status: UInt, body: Data) {
        do {
            let response = try await http.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, Data(buffer: body))
        } catch {
            throw GatewayError(.serviceUnavailable, "the OIDC issuer could not be reached at \(request.url)")
        }
    }

    /// The token's header, read before verification only for its `kid`.
    static func header(of token: String) -> [String: Any]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = Base64URL.decode(parts[0]) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}

/// What the issuer's discovery document says: where its keys are, and the endpoints of the
/// authorization code flow (absent for an issuer that only grants client credentials).
struct OIDCDiscovery: Sendable {
    var jwksURI: String
    var authorizationEndpoint: String?
    var tokenEndpoint: String?
}

/// The claims of a token, decoded once by jwt-kit after the signature: the registered ones
/// every token must carry, and every other string or list of strings, among which the
/// configured user-name and groups claims are looked up.
struct OIDCClaims: JWTPayload {
    var iss: String
    var aud: [String]
    var exp: Double
    var nbf: Double?
    var sub: String?
    /// Other claims whose value is a string.
    var strings: [String: String] = [:]
    /// Other claims whose value is a list (its string elements).
    var stringLists: [String: [String]] = [:]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
        static let iss = Key(stringValue: "iss"), aud = Key(stringValue: "aud"), exp = Key(stringValue: "exp")
        static let nbf = Key(stringValue: "nbf"), sub = Key(stringValue: "sub")
    }

    /// A list element that is not a string decodes as `nil` instead of failing the list.
    struct MaybeString: Decodable {
        let value: String?
        init(from decoder: any Decoder) throws { value = try? decoder.singleValueContainer().decode(String.self) }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        iss = try c.decode(String.self, forKey: .iss)
        // `aud` is a string or a list of strings.
        if let one = try? c.decode(String.self, forKey: .aud) {
            aud = [one]
        } else {
            aud = try c.decode([String].self, forKey: .aud)
        }
        exp = try c.decode(Double.self, forKey: .exp)
        nbf = try c.decodeIfPresent(Double.self, forKey: .nbf)
        sub = try c.decodeIfPresent(String.self, forKey: .sub)
        for key in c.allKeys {
            if let text = try? c.decode(String.self, forKey: key) {
                strings[key.stringValue] = text
            } else if let list = try? c.decode([MaybeString].self, forKey: key) {
                stringLists[key.stringValue] = list.compactMap(\.value)
            }
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(iss, forKey: .iss)
        try c.encode(aud, forKey: .aud)
        try c.encode(exp, forKey: .exp)
        try c.encodeIfPresent(nbf, forKey: .nbf)
        try c.encodeIfPresent(sub, forKey: .sub)
        for (name, text) in strings where ![Key.iss, .sub].map(\.stringValue).contains(name) {
            try c.encode(text, forKey: Key(stringValue: name))
        }
        for (name, list) in stringLists where name != Key.aud.stringValue {
            try c.encode(list, forKey: Key(stringValue: name))
        }
    }

    /// The time claims are checked by ``OIDCVerifier``, with the configured skew.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
