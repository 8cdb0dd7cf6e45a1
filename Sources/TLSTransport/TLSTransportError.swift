/// The one error type of the TLS layer: a code and a human-readable reason.
public struct TLSTransportError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidCSR
        case invalidCertificate
        case pinMismatch
        case unreadableFile
        /// The control plane answered with an error frame; `reason` is its message.
        case refusedByPeer
        /// Nothing arrived from the peer for longer than its liveness allows.
        case peerSilent
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}
