/// A joining node's request for its client certificate.
///
/// Sent over server-authenticated TLS (no client certificate yet) as the first frame.
/// The node has pinned the control plane's CA by its hash before sending the token.
public struct EnrollRequest: WireMessage, Equatable {
    public static let messageType = MessageType.enrollRequest

    /// The join token, `<id>.<secret>`.
    public var token: String
    /// DER-encoded PKCS#10 certificate signing request.
    public var csrDER: [UInt8]
    public var nodeName: String

    public init(token: String, csrDER: [UInt8], nodeName: String) {
        self.token = token
        self.csrDER = csrDER
        self.nodeName = nodeName
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, token)
        w.write(2, bytes: csrDER)
        w.write(3, nodeName)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(token: "", csrDER: [], nodeName: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: token = try r.string(tag)
            case 2: csrDER = try r.bytes(tag)
            case 3: nodeName = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
