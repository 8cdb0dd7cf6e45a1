/// The outcome of an RPC. The gateway maps each to one HTTP status.
public enum RPCStatus: UInt8, Sendable, Equatable {
    case ok = 0
    case badRequest = 1
    case notFound = 2
    case forbidden = 3
    case unauthenticated = 4
    case conflict = 5
    case unavailable = 6
    case internalError = 7
    case notImplemented = 8
    /// The control plane's storage is full: writes fail, reads still work (HTTP 507).
    case storageFull = 9
}
