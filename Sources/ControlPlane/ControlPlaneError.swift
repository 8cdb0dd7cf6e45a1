import Persistence
import WireProtocol

/// The one error type of the control plane: an RPC status and a message for the caller.
///
/// The gateway turns ``status`` into an HTTP status and ``message`` into the FAIL envelope.
public struct ControlPlaneError: Error, Sendable, CustomStringConvertible {
    public var status: RPCStatus
    public var message: String

    public init(_ status: RPCStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status): \(message)" }

    static func badRequest(_ message: String) -> Self { .init(.badRequest, message) }
    static func notFound(_ message: String) -> Self { .init(.notFound, message) }

    /// A storage error as the caller sees it: a missing or taken row keeps its meaning; a
    /// database that cannot be written (away, failing over, or this replica deposed) is
    /// `unavailable` (HTTP 503: retry), never the request's fault; anything else is
    /// `otherwise`.
    init(_ error: PersistenceError, otherwise: RPCStatus = .conflict) {
        switch error.code {
        case .notFound: self.init(.notFound, error.reason)
        case .conflict: self.init(.conflict, error.reason)
        case .unavailable, .fenced: self = Self.storageUnavailable
        case .invalidToken, .badLocation: self.init(otherwise, error.reason)
        }
    }

    /// The answer while the database cannot be written. The reason (hosts, driver errors)
    /// is for the control plane's log, not for REST callers.
    static var storageUnavailable: Self {
        .init(.unavailable, "the control plane's database is unavailable; retry")
    }
}
