/// Who a REST caller is, as authenticated by the gateway and forwarded with each RPC.
///
/// The control plane makes the authorization decision from this.
public struct Principal: WireCodable, Equatable {
    public enum Kind: UInt8, Sendable {
        /// Authentication is off: the caller may do everything.
        case anonymous = 1
        /// The root token: every permission, always.
        case root = 2
        /// A UAK/TAP session.
        case apiKey = 3
        /// A client certificate on the gateway's HTTPS port.
        case certificate = 4
        /// An OpenID Connect token the gateway verified: the user and groups are its claims.
        case oidc = 5
        /// An instance access token (`token`), checked by the control plane: it opens
        /// tunnels to its one instance and does nothing else.
        case accessToken = 6
    }

    public var kind: Kind
    public var name: String
    public var groups: [String]
    /// For `apiKey`: the TAP session the caller presented, checked by the control plane.
    public var sessionID: String
    public var token: String

    public init(kind: Kind, name: String = "", groups: [String] = [], sessionID: String = "", token: String = "") {
        self.kind = kind
        self.name = name
        self.groups = groups
        self.sessionID = sessionID
        self.token = token
    }

    public static let anonymous = Principal(kind: .anonymous)
    public static let root = Principal(kind: .root, name: "root")

    public func encode(to w: inout PayloadWriter) {
        w.write(1, kind)
        w.write(2, name)
        w.write(3, groups)
        w.write(4, sessionID)
        w.write(5, token)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(kind: .anonymous)
        while let tag = try r.next() {
            switch tag.number {
            case 1: kind = try r.enumeration(tag)
            case 2: name = try r.string(tag)
            case 3: groups.append(try r.string(tag))
            case 4: sessionID = try r.string(tag)
            case 5: token = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
