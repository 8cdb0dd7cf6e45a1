/// One gateway call. The frame's stream id identifies it; the response echoes that id.
public struct RPCRequest: WireMessage, Equatable {
    public static let messageType = MessageType.rpcRequest

    public var method: RPCMethod
    public var principal: Principal
    /// The method's request body, itself a wire-encoded value.
    public var body: [UInt8]

    public init(method: RPCMethod, principal: Principal, body: [UInt8] = []) {
        self.method = method
        self.principal = principal
        self.body = body
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, UInt64(method.rawValue))
        w.write(2, principal)
        w.write(3, bytes: body)
    }

    public init(from r: inout PayloadReader) throws {
        var method: UInt32?
        var principal: Principal?
        var body: [UInt8] = []
        while let tag = try r.next() {
            switch tag.number {
            case 1: method = try r.uint32(tag)
            case 2: principal = try r.message(tag)
            case 3: body = try r.bytes(tag)
            default: try r.skip(tag)
            }
        }
        self.init(
            method: RPCMethod(rawValue: try PayloadReader.requireNonZero(method, "method", in: "RPCRequest", zero: 0)),
            principal: try PayloadReader.require(principal, "principal", in: "RPCRequest"),
            body: body
        )
    }
}
