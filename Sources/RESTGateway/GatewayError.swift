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

    /// The exact 401 that Anka clients match on.
    public static let authenticationRequired = GatewayError(.unauthorized, "Authentication Required")
    /// The control plane answered OK with a body that does not decode as the declared type.
    static let unreadableAnswer = GatewayError(.badGateway, "the control plane sent an unreadable answer")
}
