import Foundation
import Logging
import Persistence
import TLSTransport
import WireProtocol
import X509

/// Mints join tokens and turns a valid token plus CSR into a node certificate.
public struct EnrollmentService: Sendable {
    let database: BerthDatabase
    let authority: CertificateAuthority
    let certificateValidity: Double
    let logger: Logger

    public init(database: BerthDatabase, authority: CertificateAuthority, certificateValidity: Double, logger: Logger) {
        self.database = database
        self.authority = authority
        self.certificateValidity = certificateValidity
        self.logger = logger
    }

    /// Creates a single-use join token valid for `ttl` seconds.
    public func createToken(ttl: Double, description: String = "") async throws -> JoinToken {
        let token = JoinToken.generate()
        let now = BerthDatabase.nowMicros()
        try await database.insertJoinToken(
            JoinTokenRow(
                id: token.id,
                secretHash: token.secretHash,
                description: description,
                createdAt: now,
                expiresAt: now + Int64(ttl * 1_000_000)
            )
        )
        return token
    }

    /// Validates the token and CSR and returns the node's identity.
    ///
    /// Throws ``WireError`` (`enrollmentRefused`) with the reason; the reason is logged.
    func enroll(_ request: EnrollRequest) async throws -> EnrollResponse {
        do {
            guard let token = JoinToken(request.token) else {
                throw WireError(.enrollmentRefused, "malformed join token")
            }
            let nodeID = RandomID.uuid()
            let certificate: Certificate
            do {
                certificate = try authority.sign(
                    csrDER: request.csrDER,
                    as: PeerIdentity(role: .node, id: nodeID),
                    validity: certificateValidity
                )
            } catch let error as TLSTransportError {
                throw WireError(.enrollmentRefused, error.reason)
            }
            let now = BerthDatabase.nowMicros()
            let name = request.nodeName.isEmpty ? "node-\(nodeID.prefix(8))" : String(request.nodeName.prefix(128))
            do {
                try await database.enrollNode(
                    tokenID: token.id,
                    secretHash: token.secretHash,
                    node: NodeRow(id: nodeID, name: name, createdAt: now),
                    certificate: CertificateRow(
                        serial: certificate.serialHex,
                        role: "node",
                        subjectId: nodeID,
                        issuedAt: now,
                        expiresAt: Int64(certificate.notValidAfter.timeIntervalSince1970 * 1_000_000)
                    ),
                    now: now
                )
            } catch let error as PersistenceError {
                throw WireError(.enrollmentRefused, error.reason)
            }
            logger.info(
                "enrolled node",
                metadata: ["node": "\(nodeID)", "name": "\(name)", "serial": "\(certificate.serialHex)"]
            )
            return EnrollResponse(
                nodeID: nodeID,
                certificateDER: certificate.derBytes,
                caCertificateDER: authority.certificate.derBytes
            )
        } catch let error as WireError {
            logger.warning("enrollment refused", metadata: ["reason": "\(error.reason)"])
            throw error
        }
    }
}
