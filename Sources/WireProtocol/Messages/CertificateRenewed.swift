/// The answer to a ``CertificateRenewal``: the new certificate and the CA, or why not. A
/// refusal does not close the connection; the peer keeps its certificate and tries later.
public struct CertificateRenewed: WireMessage, Equatable {
    public static let messageType = MessageType.certificateRenewed

    /// DER of the new certificate; empty when refused.
    public var certificateDER: [UInt8]
    /// DER of the CA that signed it.
    public var caCertificateDER: [UInt8]
    /// Why the renewal was refused; empty on success.
    public var error: String

    public init(certificateDER: [UInt8] = [], caCertificateDER: [UInt8] = [], error: String = "") {
        self.certificateDER = certificateDER
        self.caCertificateDER = caCertificateDER
        self.error = error
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, bytes: certificateDER)
        w.write(2, bytes: caCertificateDER)
        w.write(3, error)
    }

    public init(from r: inout PayloadReader) throws {
        self.init()
        while let tag = try r.next() {
            switch tag.number {
            case 1: certificateDER = try r.bytes(tag)
            case 2: caCertificateDER = try r.bytes(tag)
            case 3: error = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
