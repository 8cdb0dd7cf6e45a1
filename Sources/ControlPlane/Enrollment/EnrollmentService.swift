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
    /// Lifetime of a gateway's renewed certificate.
    let gatewayCertificateValidity: Double
    let logger: Logger
    /// Told of each node enrolled, once it is stored and before the node is answered (the
    /// running control plane's fleet, which holds every node in memory).
    let enrolled: @Sendable (NodeRow) async -> Void

    public init(
        database: BerthDatabase,
        authority: CertificateAuthority,
        certificateValidity: Double,
        gatewayCertificateValidity: Double = 365 * 86_400,
        logger: Logger,
        enrolled: @escaping @Sendable (NodeRow) async -> Void = { _ in }
    ) {
        self.database = database
        self.authority = authority
        self.certificateValidity = certificateValidity
        self.gatewayCertificateValidity = gatewayCertificateValidity
        self.logger = logger
        self.enrolled = enrolled
    }

    /// Creates a single-use join token valid for `ttl` seconds.
    public func createToken(ttl: Double, description: String = "", createdBy: String = "") async throws -> JoinToken {
        try await createTokens(count: 1, ttl: ttl, description: description, createdBy: createdBy)[0]
    }

    /// Mints `count` single-use tokens in one transaction (for enrolling a fleet at once,
    /// such as `berth sim`'s simulated nodes).
    public func createTokens(
        count: Int,
        ttl: Double,
        description: String = "",
        createdBy: String = ""
    ) async throws -> [JoinToken] {
        try await mintTokens(count: count, ttl: ttl, description: description, createdBy: createdBy).tokens
    }

    private func mintTokens(
        count: Int,
        ttl: Double,
        description: String,
        createdBy: String
    ) async throws -> (tokens: [JoinToken], expiresAt: Int64) {
        let tokens = (0..<max(0, count)).map { _ in JoinToken.generate() }
        let now = BerthDatabase.nowMicros()
        let expiresAt = now + Int64(ttl * 1_000_000)
        try await database.insertJoinTokens(
            tokens.map {
                JoinTokenRow(
                    id: $0.id,
                    secretHash: $0.secretHash,
                    description: description,
                    createdAt: now,
                    expiresAt: expiresAt,
                    createdBy: createdBy
                )
            }
        )
        return (tokens, expiresAt)
    }

    /// Bounds of a request for tokens over the API.
    static let tokenCounts = 1...1000
    static let tokenLifetimes = 60...(30 * 86_400)
    static let tokenDescriptionLimit = 1024

    /// ``RPCCatalog/createJoinTokens``: checks the request's bounds, then mints.
    public func createTokens(_ request: JoinTokenCreateRequest, by actor: String) async throws -> JoinTokensCreated {
        guard Self.tokenCounts.contains(request.count) else {
            throw ControlPlaneError.badRequest("count must be 1 to \(Self.tokenCounts.upperBound)")
        }
        guard Self.tokenLifetimes.contains(request.ttlSeconds) else {
            throw ControlPlaneError.badRequest(
                "ttl must be \(Self.tokenLifetimes.lowerBound) to \(Self.tokenLifetimes.upperBound) seconds (30 days)"
            )
        }
        guard request.description.unicodeScalars.count <= Self.tokenDescriptionLimit else {
            throw ControlPlaneError.badRequest("description must be at most \(Self.tokenDescriptionLimit) characters")
        }
        let minted = try await mintTokens(
            count: request.count,
            ttl: Double(request.ttlSeconds),
            description: request.description,
            createdBy: actor
        )
        logger.info(
            "join tokens created",
            metadata: [
                "count": "\(request.count)", "by": "\(actor)",
                "ids": "\(minted.tokens.map(\.id).joined(separator: ","))",
            ]
        )
        return JoinTokensCreated(
            tokens: minted.tokens.map(\.description),
            expiresMicros: Int(minted.expiresAt),
            caPin: authority.pin.description
        )
    }

    /// ``RPCCatalog/listJoinTokens``: every token with its state now.
    public func listTokens() async throws -> [JoinTokenRecord] {
        let now = BerthDatabase.nowMicros()
        return try await database.joinTokens().map { Self.record($0, now: now) }
    }

    /// ``RPCCatalog/revokeJoinToken``: an unused token can no longer enroll a node. `text`
    /// is the token's id, or the whole token as it was printed.
    public func revokeToken(id text: String, by actor: String) async throws -> JoinTokenRecord {
        let id = JoinToken.id(of: text)
        let now = BerthDatabase.nowMicros()
        let row: JoinTokenRow
        do {
            row = try await database.revokeJoinToken(id: id, actor: actor, now: now)
        } catch let error as PersistenceError {
            throw ControlPlaneError(error)
        }
        logger.info("join token revoked", metadata: ["id": "\(id)", "by": "\(actor)"])
        return Self.record(row, now: now)
    }

    static func record(_ row: JoinTokenRow, now: Int64) -> JoinTokenRecord {
        JoinTokenRecord(
            id: row.id,
            description: row.description,
            state: row.state(now: now),
            createdBy: row.createdBy,
            createdMicros: Int(row.createdAt),
            expiresMicros: Int(row.expiresAt),
            usedMicros: Int(row.usedAt ?? 0),
            usedBy: row.usedBy ?? "",
            revokedMicros: Int(row.revokedAt ?? 0)
        )
    }

    /// What an unauthenticated peer is told when its token is refused; the detail (which
    /// token, which node used it) goes to the log only.
    static let tokenRefused = "the join token is not valid (unknown, wrong, already used or expired); ask for a new one"

    /// Validates the token, then the CSR, and returns the node's identity.
    ///
    /// The token is checked before the CSR is parsed or signed, so a caller without a valid
    /// token cannot make the control plane do signing work. Throws ``WireError``
    /// (`enrollmentRefused`) with a reason fit for an unauthenticated peer: it names no
    /// source file and no other node. The full reason is logged.
    func enroll(_ request: EnrollRequest) async throws -> EnrollResponse {
        guard let token = JoinToken(request.token) else {
            logger.warning("enrollment refused", metadata: ["reason": "malformed join token"])
            throw WireError(.enrollmentRefused, "malformed join token")
        }
        do {
            try await database.checkJoinToken(id: token.id, secretHash: token.secretHash, now: BerthDatabase.nowMicros())
        } catch let error as PersistenceError {
            logger.warning("enrollment refused", metadata: ["reason": "\(error.reason)"])
            throw WireError(.enrollmentRefused, Self.tokenRefused)
        }
        let nodeID = RandomID.uuid()
        let certificate: Certificate
        do {
            certificate = try authority.sign(
                csrDER: request.csrDER,
                as: PeerIdentity(role: .node, id: nodeID),
                validity: certificateValidity
            )
        } catch {
            logger.warning("enrollment refused: bad CSR (signature, key or form)", metadata: ["error": "\(error)"])
            throw WireError(
                .enrollmentRefused,
                "the certificate signing request is not valid (check its signature, its P-256 key and its form)"
            )
        }
        let now = BerthDatabase.nowMicros()
        let name = request.nodeName.isEmpty ? "node-\(nodeID.prefix(8))" : String(request.nodeName.prefix(128))
        let node = NodeRow(id: nodeID, name: name, createdAt: now)
        do {
            try await database.enrollNode(
                tokenID: token.id,
                secretHash: token.secretHash,
                node: node,
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
            logger.warning("enrollment refused", metadata: ["reason": "\(error.reason)"])
            throw WireError(.enrollmentRefused, Self.tokenRefused)
        }
        await enrolled(node)
        logger.info(
            "enrolled node",
            metadata: ["node": "\(nodeID)", "name": "\(name)", "serial": "\(certificate.serialHex)"]
        )
        return EnrollResponse(
            nodeID: nodeID,
            certificateDER: certificate.derBytes,
            caCertificateDER: authority.certificate.derBytes
        )
    }

    /// Certifies a connected peer's key again (``CertificateRenewal``), for the identity its
    /// connection proved, with the role's lifetime; records the certificate. Refusals are
    /// answered, not thrown: the peer keeps its certificate and tries again later.
    func renew(_ request: CertificateRenewal, for identity: PeerIdentity, replacing serial: String) async -> CertificateRenewed {
        let validity: Double
        switch identity.role {
        case .node: validity = certificateValidity
        case .gateway: validity = gatewayCertificateValidity
        case .controlPlane: return CertificateRenewed(error: "a control-plane certificate is not renewed this way")
        }
        let certificate: Certificate
        do {
            certificate = try authority.sign(csrDER: request.csrDER, as: identity, validity: validity)
        } catch {
            logger.warning("certificate renewal refused: bad CSR", metadata: ["identity": "\(identity)", "error": "\(error)"])
            return CertificateRenewed(error: "the certificate signing request is not valid (\(error))")
        }
        do {
            try await database.recordCertificate(
                CertificateRow(
                    serial: certificate.serialHex,
                    role: identity.role.rawValue,
                    subjectId: identity.id,
                    issuedAt: BerthDatabase.nowMicros(),
                    expiresAt: Int64(certificate.notValidAfter.timeIntervalSince1970 * 1_000_000)
                )
            )
        } catch {
            logger.error("could not record a renewed certificate", metadata: ["identity": "\(identity)", "error": "\(error)"])
            return CertificateRenewed(error: "the control plane could not record the certificate; try again")
        }
        logger.info(
            "renewed certificate",
            metadata: [
                "identity": "\(identity)", "replaces": "\(serial)", "serial": "\(certificate.serialHex)",
                "expires": "\(certificate.notValidAfter.formatted(.iso8601))",
            ]
        )
        return CertificateRenewed(certificateDER: certificate.derBytes, caCertificateDER: authority.certificate.derBytes)
    }
}
