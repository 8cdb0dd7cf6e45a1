/// A connected peer (node or gateway) asks for a new certificate for its key before the one
/// it connected with expires. The server issues it for the identity the connection proved,
/// never for anything the request names. Sent only to a server whose welcome lists
/// ``capability``.
public struct CertificateRenewal: WireMessage, Equatable {
    public static let messageType = MessageType.certificateRenewal
    /// The welcome capability that says the server accepts renewals.
    public static let capability = "certificate-renewal"

    /// DER of a PKCS#10 request, self-signed with the key the peer keeps.
    public var csrDER: [UInt8]

    public init(csrDER: [UInt8]) {
        self.csrDER = csrDER
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, bytes: csrDER)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(csrDER: [])
        while let tag = try r.next() {
            switch tag.number {
            case 1: csrDER = try r.bytes(tag)
            default: try r.skip(tag)
            }
        }
    }
}
