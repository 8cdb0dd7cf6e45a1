import HTTPTypes
import WireProtocol

/// The one error type of the gateway: an HTTP status and the message for the FAIL envelope.
///
/// ``init(_:)`` is the single place where control-plane outcomes become HTTP statuses.
public struct GatewayError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// Maps an RPC outcome to HTTP.
    public init(_ response: RPCResponse) {
        let status: HTTPResponse.Status =
            switch response.status {
            case .ok: .ok
            case .badRequest: .badRequest
            case .notFound: .notFound
            case .forbidden: .forbidden
            case .unauthenticated: .unauthorized
            case .conflict: .conflict
            case .unavailable: .serviceUnavailable
            case .internalError: .internalServerError
            case .notImplemented: .notImplemented
            case .storageFull: HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
            }
        self.init(status, response.message)
    }

    public var description: String { "\(status.code): \(message)" }

    /// The status this error answers with on the Anka surface (`/api/v1`, `/admin`, `/tap`;
    /// see ``isAnkaSurface(_:)``), as the Anka controller answers.
    ///
    /// A request that was understood but fails on its merits (no such tag, template,
    /// instance or node; a field missing, malformed or out of range; a conflict) answers
    /// HTTP 200 with the FAIL envelope: the Jenkins and TeamCity SDKs throw on any status of
    /// 400 or more before they read the body, so their fallbacks (retry without the tag on
    /// `No such tag <tag>`) only run on a 200. Refusals of the request as such keep their
    /// codes: 401 and 403 (credentials, permissions), 413 (body too large), 429 (too many
    /// guesses), and every 5xx (the control plane unreachable, storage full, a fault).
    /// An unknown path is not a `GatewayError` and keeps its 404.
    public var ankaStatus: HTTPResponse.Status {
        switch status.code {
        case 401, 403, 413, 429, 500...: status
        default: .ok
        }
    }

    /// Whether `path` is on the Anka surface, where failures on the merits answer HTTP 200.
    /// Berth's own `/berth/v1` API and the dashboard keep fitting HTTP codes.
    public static func isAnkaSurface(_ path: String) -> Bool {
        for prefix in ["/api/v1", "/admin", "/tap"] where path.hasPrefix(prefix) {
            let rest = path.dropFirst(prefix.count)
            if rest.isEmpty || rest.hasPrefix("/") { return true }
        }
        return false
    }

    /// The exact 401 that Anka clients match on.
    public static let authenticationRequired = GatewayError(.unauthorized, "Authentication Required")
    /// The control plane answered OK with a body that does not decode as the declared type.
    static let unreadableAnswer = GatewayError(.badGateway, "the control plane sent an unreadable answer")
}
