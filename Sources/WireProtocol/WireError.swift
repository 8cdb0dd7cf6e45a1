/// The one error type of the wire protocol: a stable code plus a human-readable reason.
///
/// Every decoding failure is a `WireError`; a peer that receives malformed input answers
/// with an ``ErrorFrame`` carrying ``code`` and closes that one connection.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable error codes. The raw values travel in ``ErrorFrame/code``.
    public enum Code: UInt16, Sendable {
        case frameTooLarge = 1
        case truncated = 2
        case malformedVarint = 3
        case wrongWireType = 4
        case unknownMessageType = 5
        case invalidValue = 6
        case missingField = 7
        case unsupportedVersion = 8
        case unexpectedMessage = 9
        case invalidUTF8 = 10
        case unauthenticated = 11
        case forbidden = 12
        case enrollmentRefused = 13
        case internalError = 14
        case goingAway = 15
        case unknown = 0xFFFF
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code) (\(code.rawValue)): \(reason)" }
}
