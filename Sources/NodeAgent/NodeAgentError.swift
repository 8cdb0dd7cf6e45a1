/// The one error type of the node agent.
public struct NodeAgentError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case enrollmentRefused
        case protocolError
        case serverRefused
        case driverFailure
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}
