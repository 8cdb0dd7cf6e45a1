import Crypto
import Foundation
import Logging
import Persistence
import TLSTransport
import WireProtocol
import _CryptoExtras

/// User API keys (UAK) and the token authentication protocol (TAP).
///
/// Keys (public key, groups, lifetime) are in SQLite; the private key is never stored.
///
/// TAP secrets are not stored at all: each one carries its key id's MAC and its expiry
/// (see ``TAPSecret``), so the server verifies it on shake, and a flood of unauthenticated
/// hands cannot evict a real client's secret. A secret is valid once (a used-secret set
/// holds the hashes of traded secrets until they expire) and for
/// ``ControlPlaneConfiguration/tapSecretTTL``. Sessions are checked in memory, as SHA-256
/// hashes of their tokens, and kept in storage too (table `sessions`), so a restart or a
/// failover to another replica keeps every caller signed in. A TAP session lasts
/// ``ControlPlaneConfiguration/tapSessionTTL`` from its creation and is written behind: the
/// shake answers at once, and a background journal stores the sessions made meanwhile in
/// one transaction, so the handshake path waits for no commit and stays cheap for clients
/// that do one per call. A TAP session made in the moment before a crash may be lost; its
/// client gets a 401 and redoes the handshake, as after any 401. A dashboard session (made
/// at a login) is stored before it is handed out. Outstanding secrets end with the process.
actor KeyStore {
    struct Session {
        /// The key's id; empty for a root or OIDC dashboard session.
        var keyID: String
        var tokenHash: [UInt8]
        var expires: ContinuousClock.Instant
        /// For a dashboard session signed in at the OIDC issuer: the user and groups its ID
        /// token named, as the gateway checked them.
        var oidc: Principal?
    }

    let database: BerthDatabase
    let configuration: ControlPlaneConfiguration
    let logger: Logger
    /// Signs and checks TAP secrets; made at start, so a restart voids outstanding ones.
    let secrets = TAPSecret.Signer()
    /// Hashes of secrets already traded for a session, with their expiry (a secret is valid once).
    var usedSecrets: [[UInt8]: UInt32] = [:]
    var sessions: [String: Session] = [:]
    let clock = ContinuousClock()
    /// Session changes not yet stored, in order; ``flushJournal()`` drains them.
    private var journal: [BerthDatabase.SessionChange] = []
    /// The task draining the journal, while one runs.
    private var journalFlush: Task<Void, Never>?

    static let maxSessions = 100_000

    init(database: BerthDatabase, configuration: ControlPlaneConfiguration, logger: Logger) {
        self.database = database
        self.configuration = configuration
        self.logger = logger
    }

    /// Loads the stored sessions that have not expired (at start, and at each term's start
    /// on a replica).
    func load() async throws {
        let now = BerthDatabase.nowMicros()
        let rows = try await database.liveSessions(now: now)
        let clockNow = clock.now
        for row in rows {
            sessions[row.id] = Session(
                keyID: row.keyId,
                tokenHash: row.tokenHash,
                expires: clockNow + .microseconds(row.expiresAt - now),
                oidc: row.oidcUser.isEmpty ? nil : Principal(kind: .oidc, name: row.oidcUser, groups: row.oidcGroupNames)
            )
        }
        if !rows.isEmpty { logger.info("sessions loaded", metadata: ["sessions": "\(rows.count)"]) }
    }

    // MARK: key management

    /// Creates a key; without a public key, generates an RSA 2048 pair and returns the
    /// private key (PKCS#1 DER), which is not kept.
    func create(_ request: APIKeyCreateRequest) async throws -> APIKeyCreated {
        let id = request.id.trimmingCharacters(in: .whitespaces)
        guard !id.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        try Self.validate(ttl: request.ttlSeconds)
        try Self.validate(groups: request.groups)
        var publicKey = request.publicKeyDER
        var privateKey: [UInt8] = []
        if publicKey.isEmpty {
            let pair = try _RSA.Encryption.PrivateKey(keySize: .bits2048)
            publicKey = Array(pair.publicKey.derRepresentation)
            privateKey = Array(pair.derRepresentation)
        } else {
            do {
                publicKey = Array(try _RSA.Encryption.PublicKey(derRepresentation: publicKey).derRepresentation)
            } catch {
                throw ControlPlaneError.badRequest(
                    "publicKey must be an RSA public key (PKIX DER, base64), 2048 bits or more"
                )
            }
        }
        let now = BerthDatabase.nowMicros()
        do {
            try await database.insertAPIKey(
                APIKeyRow(
                    id: id,
                    publicKey: publicKey,
                    groups: request.groups,
                    createdAt: now,
                    expiresAt: now + Int64(request.ttlSeconds) * 1_000_000
                )
            )
        } catch let error as PersistenceError where error.code == .conflict {
            throw ControlPlaneError(.conflict, error.reason)
        }
        logger.info("api key created", metadata: ["key": "\(id)", "generated": "\(!privateKey.isEmpty)"])
        return APIKeyCreated(privateKeyDER: privateKey)
    }

    func list(id: String) async throws -> [APIKeyRecord] {
        let rows: [APIKeyRow]
        if id.isEmpty {
            rows = try await database.apiKeys()
        } else {
            guard let row = try await database.apiKey(id: id) else {
                throw ControlPlaneError.notFound("No such key \(id)")
            }
            rows = [row]
        }
        return rows.map {
            APIKeyRecord(
                id: $0.id,
                groups: $0.groupNames,
                createdMicros: Int($0.createdAt),
                expiresMicros: Int($0.expiresAt)
            )
        }
    }

    /// The longest key lifetime: 100 years. Past it an expiry in microseconds would overflow
    /// (a ttl of 10^13 s did, and stopped the control plane).
    static let maximumTTL = 100 * 365 * 86_400

    static func validate(ttl: Int) throws {
        guard ttl > 0, ttl <= maximumTTL else {
            throw ControlPlaneError.badRequest("ttl must be 1 to \(maximumTTL) seconds (100 years)")
        }
    }

    func update(_ request: APIKeyUpdateRequest) async throws {
        try Self.validate(groups: request.groups)
        if let ttl = request.ttlSeconds { try Self.validate(ttl: ttl) }
        do {
            try await database.updateAPIKey(
                id: request.id,
                groups: request.groups,
                expiresAt: request.ttlSeconds.map { BerthDatabase.nowMicros() + Int64($0) * 1_000_000 }
            )
        } catch let error as PersistenceError where error.code == .notFound {
            throw ControlPlaneError.notFound("No such key \(request.id)")
        }
    }

    /// Deletes a key; its sessions end at once.
    func delete(id: String) async throws {
        do {
            try await database.deleteAPIKey(id: id)
        } catch let error as PersistenceError where error.code == .notFound {
            throw ControlPlaneError.notFound("No such key \(id)")
        }
        sessions = sessions.filter { $0.value.keyID != id }
        logger.info("api key deleted; its sessions ended", metadata: ["key": "\(id)"])
    }

    static func validate(groups: [String]) throws {
        for group in groups where group.isEmpty || group.contains("\n") {
            throw ControlPlaneError.badRequest("group names must be non-empty single lines")
        }
    }

    // MARK: TAP

    /// `/tap/v1/hand`: a fresh secret, encrypted to the key with RSA-OAEP-SHA256.
    ///
    /// Nothing is stored: the secret proves itself on shake.
    func hand(keyID: String) async throws -> TAPChallenge {
        let key = try await liveKey(keyID)
        let publicKey = try _RSA.Encryption.PublicKey(derRepresentation: key.publicKey)
        let expires = TAPSecret.now() + UInt32(max(1, configuration.tapSecretTTL.rounded(.up)))
        let secret = secrets.make(keyID: keyID, expires: expires)
        let encrypted = try publicKey.encrypt(Data(secret.utf8), padding: .PKCS1_OAEP_SHA256)
        return TAPChallenge(encryptedSecretBase64: encrypted.base64EncodedString())
    }

    /// `/tap/v1/shake`: trades a decrypted secret (once) for a session.
    func shake(_ request: TAPShakeRequest) async throws -> TAPSession {
        let nowSeconds = TAPSecret.now()
        guard let expires = secrets.verify(request.secret, keyID: request.id), expires > nowSeconds else {
            logger.notice("TAP shake refused: unknown or expired secret", metadata: ["key": "\(request.id)"])
            throw ControlPlaneError(.unauthenticated, "Authentication Required")
        }
        let hash = Self.hash(request.secret)
        guard usedSecrets[hash] == nil else {
            logger.notice("TAP shake refused: the secret was already used", metadata: ["key": "\(request.id)"])
            throw ControlPlaneError(.unauthenticated, "Authentication Required")
        }
        // Marked before the await below, so two shakes of one secret cannot both pass.
        usedSecrets[hash] = expires
        _ = try await liveKey(request.id)
        let now = clock.now
        if sessions.count >= Self.maxSessions { sessions = sessions.filter { $0.value.expires > now } }
        let token = Base64URL.encode(Data(RandomID.bytes(32)))
        let sessionID = RandomID.uuid()
        let lifetime = Int64(configuration.tapSessionTTL * 1_000_000)
        let session = Session(keyID: request.id, tokenHash: Self.hash(token), expires: now + .microseconds(lifetime))
        sessions[sessionID] = session
        record(.insert(Self.row(sessionID, session, expiresAt: BerthDatabase.nowMicros() + lifetime)))
        return TAPSession(userName: request.id, token: token, sessionID: sessionID)
    }

    /// A session for the web dashboard's cookie, for a key that already holds a session:
    /// the same key, its own lifetime (at most a day, and never past the key's expiry).
    func portalSession(keyID: String, ttlSeconds: Int) async throws -> PortalSessionGrant {
        let key = try await liveKey(keyID)
        let lifetime = min(Self.dashboardLifetime(ttlSeconds), key.expiresAt - BerthDatabase.nowMicros())
        return try await dashboardSession(keyID: keyID, userName: keyID, lifetime: lifetime, oidc: nil)
    }

    /// Whose a session is.
    enum SessionOwner {
        /// A dashboard session made for the root token.
        case root
        case key(APIKeyRow)
        /// A dashboard session signed in at the OIDC issuer: its user and groups.
        case oidc(Principal)
    }

    /// A dashboard session for the root token (the gateway checked the token): revocable,
    /// so that logout ends it on every gateway, which a signed cookie alone could not do.
    func rootPortalSession(ttlSeconds: Int) async throws -> PortalSessionGrant {
        try await dashboardSession(keyID: "", userName: "root", lifetime: Self.dashboardLifetime(ttlSeconds), oidc: nil)
    }

    /// A dashboard session for a user the gateway signed in at the OIDC issuer (it checked
    /// the ID token): revocable like a root one, and holding the user's name and groups, so
    /// the cookie carries only the session.
    func oidcPortalSession(for user: Principal, ttlSeconds: Int) async throws -> PortalSessionGrant {
        try await dashboardSession(
            keyID: "",
            userName: user.name,
            lifetime: Self.dashboardLifetime(ttlSeconds),
            oidc: Principal(kind: .oidc, name: user.name, groups: user.groups)
        )
    }

    /// A dashboard session's lifetime in microseconds: the TTL asked for, within 60 s … a day.
    private static func dashboardLifetime(_ ttlSeconds: Int) -> Int64 {
        Int64(min(max(ttlSeconds, 60), 86_400)) * 1_000_000
    }

    /// A new session of `lifetime` microseconds, kept as the hash of its token and stored
    /// before it is handed out.
    private func dashboardSession(
        keyID: String,
        userName: String,
        lifetime: Int64,
        oidc: Principal?
    ) async throws -> PortalSessionGrant {
        let now = clock.now
        if sessions.count >= Self.maxSessions { sessions = sessions.filter { $0.value.expires > now } }
        let token = Base64URL.encode(Data(RandomID.bytes(32)))
        let sessionID = RandomID.uuid()
        let expiresAt = BerthDatabase.nowMicros() + lifetime
        let session = Session(keyID: keyID, tokenHash: Self.hash(token), expires: now + .microseconds(lifetime), oidc: oidc)
        try await database.applySessionChanges([.insert(Self.row(sessionID, session, expiresAt: expiresAt))])
        sessions[sessionID] = session
        return PortalSessionGrant(
            session: TAPSession(userName: userName, token: token, sessionID: sessionID),
            expiresMicros: Int(expiresAt)
        )
    }

    /// Ends a session at once (logout). The caller has authenticated with it.
    func end(sessionID: String) {
        sessions.removeValue(forKey: sessionID)
        record(.delete(id: sessionID))
    }

    /// The owner of a valid session, or `nil`. The token is compared in constant time.
    func authenticate(sessionID: String, token: String) async -> SessionOwner? {
        guard let session = sessions[sessionID] else { return nil }
        guard session.expires > clock.now else {
            sessions.removeValue(forKey: sessionID)
            return nil
        }
        guard ConstantTime.equal(session.tokenHash, Self.hash(token)) else { return nil }
        if let user = session.oidc { return .oidc(user) }
        if session.keyID.isEmpty { return .root }
        guard let key = try? await liveKey(session.keyID) else { return nil }
        return .key(key)
    }

    /// Drops expired secrets and sessions (called by the liveness sweep).
    func purgeExpired() {
        let now = clock.now
        let before = sessions.count
        sessions = sessions.filter { $0.value.expires > now }
        let nowSeconds = TAPSecret.now()
        usedSecrets = usedSecrets.filter { $0.value > nowSeconds }
        // Storage is purged when sessions expired here, not on every sweep (an idle control
        // plane writes nothing).
        if sessions.count < before { record(.purge(before: BerthDatabase.nowMicros())) }
    }

    // MARK: the session journal

    /// Queues a change to the stored sessions; one task at a time stores what is queued.
    private func record(_ change: BerthDatabase.SessionChange) {
        journal.append(change)
        guard journalFlush == nil else { return }
        journalFlush = Task { await flushJournal() }
    }

    /// Stores queued changes, a batch per transaction, until none are left. A batch that
    /// fails is logged and dropped: those sessions still work here, and only a restart or
    /// a failover would end them.
    private func flushJournal() async {
        while !journal.isEmpty {
            let batch = journal
            journal.removeAll()
            do {
                try await database.applySessionChanges(batch)
            } catch {
                logger.warning("sessions not stored", metadata: ["changes": "\(batch.count)", "error": "\(error)"])
            }
        }
        journalFlush = nil
    }

    /// Returns once every session change made so far is stored (or failed to be).
    func sessionsStored() async {
        await journalFlush?.value
    }

    private static func row(_ id: String, _ session: Session, expiresAt: Int64) -> SessionRow {
        SessionRow(
            id: id,
            tokenHash: session.tokenHash,
            keyId: session.keyID,
            oidcUser: session.oidc?.name ?? "",
            oidcGroups: session.oidc?.groups ?? [],
            expiresAt: expiresAt
        )
    }

    private func liveKey(_ id: String) async throws -> APIKeyRow {
        guard let key = try await database.apiKey(id: id), key.expiresAt > BerthDatabase.nowMicros() else {
            throw ControlPlaneError(.unauthenticated, "Authentication Required")
        }
        return key
    }

    static func hash(_ text: String) -> [UInt8] { Array(SHA256.hash(data: Data(text.utf8))) }

}
