import Foundation
import TLSTransport
import WireProtocol
import X509

/// The enrollment path on arbitrary bytes: the request's payload reader, then the CA's CSR
/// check and signing, then the certificate parsing a peer's handshake goes through. It must
/// refuse or sign, never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnrollment(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    // The bytes as an enrollment request, and as a CSR on their own.
    var csrs = [bytes]
    if let request = try? EnrollRequest(bytes: bytes) { csrs.append(request.csrDER) }
    for der in csrs {
        if let certificate = try? Fuzzing.authority.sign(csrDER: der, as: Fuzzing.identity, validity: 3600) {
            precondition(PeerIdentity(certificate: certificate) == Fuzzing.identity, "signed for someone else")
        }
        // The same bytes as a peer's certificate.
        if let certificate = try? Certificate(derEncoded: der) {
            _ = PeerIdentity(certificate: certificate)
            _ = certificate.serialHex
        }
    }
    return 0
}

enum Fuzzing {
    static let authority = try! CertificateAuthority.create(commonName: "Berth fuzz CA")
    static let identity = PeerIdentity(role: .node, id: "fuzz-node")
}
