/// One gateway call. The frame's stream id identifies it; the response echoes that id.
public struct RPCRequest: WireMessage, Equatable {
    public static let messageType = MessageType.rpcRequest

    public var method: RPCMethod
    public var principal: Principal
    /// The method's request body, itself a wire-encoded value.
    public var body: [UInt8]
    /// The HTTP request's id at the gateway (`X-Request-ID`), for the control plane's log;
    /// empty when the call has none.
    public var requestID: String

    public init(method: RPCMethod, principal: Principal, body: [UInt8] = [], requestID: String = "") {
        self.method = method
        self.principal = principal
        self.body = body
        self.requestID = requestID
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, UInt64(method.rawValue))
        w.write(2, principal)
        w.write(3, bytes: body)
        w.write(4, requestID)
    }

    public init(from r: inout PayloadReader) throws {
        var method: UInt32?
        var principal: Principal?
        var body: [UInt8] = []
        var requestID = ""
        while let tag = try r.next() {
            switch tag.number {
            case 1: method = try r.uint32(tag)
            case 2: principal = try r.message(tag)
            case 3: body = try r.bytes(tag)
            case 4: requestID = try r.string(tag)
            default: try r.skip(tag)
            }
        }
        self.init(
            method: RPCMethod(rawValue: try PayloadReader.requireNonZero(method, "method", in: "RPCRequest", zero: 0)),
            principal: try PayloadReader.require(principal, "principal", in: "RPCRequest"),
            body: body,
            requestID: requestID
        )
    }
}
