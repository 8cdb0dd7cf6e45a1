/// The one error type of the storage layer.
public struct PersistenceError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case notFound
        case conflict
        case invalidToken
        /// A database location (URL) that cannot be used.
        case badLocation
        /// This control plane no longer holds the leader lease: a newer leader's epoch is in
        /// force, and the write was refused (docs/ha.md, "Fencing").
        case fenced
        /// No database host is reachable and writable.
        case unavailable
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}
