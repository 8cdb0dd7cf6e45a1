/// Tells the peer why the connection (or, with a stream id, one request) failed.
///
/// Sent before closing on protocol errors; the code is a ``WireError/Code`` raw value.
public struct ErrorFrame: WireMessage, Equatable {
    public static let messageType = MessageType.error

    public var code: UInt16
    public var message: String

    public init(code: UInt16, message: String) {
        self.code = code
        self.message = message
    }

    public init(_ error: WireError) {
        self.init(code: error.code.rawValue, message: error.reason)
    }

    /// The error this frame describes.
    public var wireError: WireError {
        WireError(WireError.Code(rawValue: code) ?? .unknown, message)
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, UInt64(code))
        w.write(2, message)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(code: 0, message: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1:
                let raw = try r.uint64(tag)
                guard raw <= UInt64(UInt16.max) else {
                    throw WireError(.invalidValue, "error code \(raw) out of range")
                }
                code = UInt16(raw)
            case 2: message = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
