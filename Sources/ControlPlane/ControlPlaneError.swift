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
}
