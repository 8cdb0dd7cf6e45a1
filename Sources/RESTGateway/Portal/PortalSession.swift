import Crypto
import Foundation
import TLSTransport
import WireProtocol

/// The dashboard's session, carried in a signed cookie so the gateway stays stateless.
///
/// The cookie is `base64url(JSON) "." base64url(HMAC-SHA256)`, signed with the deployment's
/// secret (``PortalKeyring``), so any gateway accepts it. A logged-in session carries a
/// session of the control plane's, checked on every call: deleting the key ends a UAK
/// session, and logout ends either kind on every gateway. Every session, even before
/// login, carries the CSRF token its forms echo.
struct PortalSession: Codable, Sendable, Equatable {
    enum Kind: String, Codable, Sendable {
        /// Not logged in (or authentication is off): the session only holds the CSRF token.
        case visitor
        case root
        case apiKey
        /// Signed in at the OIDC issuer; the control plane's session holds the user and groups.
        case oidc
    }

    var kind: Kind
    /// Shown in the header: `root` or the key id.
    var user: String = ""
    /// The control plane's session behind a `root` or `apiKey` session.
    var sessionID: String = ""
    var token: String = ""
    /// Seconds since 1970.
    var expires: Int
    var csrf: String

    static let cookieName = "berth_session"

    /// The principal RPCs are made as; `nil` for a visitor.
    var principal: Principal? {
        switch kind {
        case .visitor: nil
        // A root cookie without a control-plane session is not a login.
        case .root:
            sessionID.isEmpty ? nil : Principal(kind: .root, name: "root", sessionID: sessionID, token: token)
        case .apiKey: Principal(kind: .apiKey, name: user, sessionID: sessionID, token: token)
        case .oidc:
            sessionID.isEmpty ? nil : Principal(kind: .oidc, name: user, sessionID: sessionID, token: token)
        }
    }

    static func visitor(lifetime: Int = 86_400) -> PortalSession {
        PortalSession(kind: .visitor, expires: Int(Date().timeIntervalSince1970) + lifetime, csrf: randomToken())
    }

    static func randomToken() -> String { Base64URL.encode(Data(RandomID.bytes(24))) }
}

/// Signs and checks ``PortalSession`` cookies.
struct PortalCookieSigner: Sendable {
    let key: SymmetricKey

    init(secret: [UInt8]) {
        key = SymmetricKey(data: SHA256.hash(data: Array("berth-portal-v1:".utf8) + secret))
    }

    func encode(_ session: PortalSession) -> String { seal(session, purpose: "") }

    /// The session in `cookie`, or `nil` when it is malformed, forged or expired.
    func decode(_ cookie: String) -> PortalSession? {
        guard let session = open(cookie, as: PortalSession.self, purpose: ""),
            session.expires > Int(Date().timeIntervalSince1970)
        else { return nil }
        return session
    }

    /// `value` as signed cookie text. The purpose is signed too, so a cookie made for one
    /// use (an OIDC sign-in in flight) is never accepted as another (a session).
    func seal(_ value: some Encodable, purpose: String) -> String {
        let payload = (try? JSONEncoder().encode(value)) ?? Data()
        let mac = HMAC<SHA256>.authenticationCode(for: Self.signed(payload, purpose: purpose), using: key)
        return Base64URL.encode(payload) + "." + Base64URL.encode(Data(mac))
    }

    /// The value in `cookie`, when it was sealed with this key for `purpose`.
    func open<Value: Decodable>(_ cookie: String, as type: Value.Type, purpose: String) -> Value? {
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(parts[0]),
            let mac = Base64URL.decode(parts[1]),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Self.signed(payload, purpose: purpose), using: key)
        else { return nil }
        return try? JSONDecoder().decode(Value.self, from: payload)
    }

    /// What the MAC covers: the purpose and a NUL, when there is a purpose, then the payload
    /// (a session's MAC is of the payload alone, as it was before purposes existed).
    private static func signed(_ payload: Data, purpose: String) -> Data {
        purpose.isEmpty ? payload : Data(purpose.utf8) + [0] + payload
    }
}
