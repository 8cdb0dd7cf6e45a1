/// The answer to one ``RPCRequest``, matched by the frame's stream id.
public struct RPCResponse: WireMessage, Equatable {
    public static let messageType = MessageType.rpcResponse

    public var status: RPCStatus
    /// Human-readable reason when `status` is not `.ok`.
    public var message: String
    public var body: [UInt8]

    public init(status: RPCStatus, message: String = "", body: [UInt8] = []) {
        self.status = status
        self.message = message
        self.body = body
    }

    public static func ok<B: WireEncodable>(_ body: B) -> RPCResponse {
        RPCResponse(status: .ok, body: body.encodedBytes())
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, status)
        w.write(2, message)
        w.write(3, bytes: body)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(status: .ok)
        while let tag = try r.next() {
            switch tag.number {
            case 1: status = try r.enumeration(tag)
            case 2: message = try r.string(tag)
            case 3: body = try r.bytes(tag)
            default: try r.skip(tag)
            }
        }
    }
}
