/// The issued identity of a newly enrolled node.
public struct EnrollResponse: WireMessage, Equatable {
    public static let messageType = MessageType.enrollResponse

    public var nodeID: String
    /// DER of the node's client certificate.
    public var certificateDER: [UInt8]
    /// DER of the CA certificate the node trusts from now on.
    public var caCertificateDER: [UInt8]

    public init(nodeID: String, certificateDER: [UInt8], caCertificateDER: [UInt8]) {
        self.nodeID = nodeID
        self.certificateDER = certificateDER
        self.caCertificateDER = caCertificateDER
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, nodeID)
        w.write(2, bytes: certificateDER)
        w.write(3, bytes: caCertificateDER)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(nodeID: "", certificateDER: [], caCertificateDER: [])
        while let tag = try r.next() {
            switch tag.number {
            case 1: nodeID = try r.string(tag)
            case 2: certificateDER = try r.bytes(tag)
            case 3: caCertificateDER = try r.bytes(tag)
            default: try r.skip(tag)
            }
        }
    }
}
