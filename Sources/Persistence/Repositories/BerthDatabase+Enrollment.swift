import Foundation

extension BerthDatabase {
    /// Stores a new join token (only the secret's hash).
    public func insertJoinToken(_ token: JoinTokenRow) async throws {
        try await insertJoinTokens([token])
    }

    /// Stores several join tokens in one transaction, and logs each in the event log.
    public func insertJoinTokens(_ tokens: [JoinTokenRow]) async throws {
        try await engine.write { db in
            for token in tokens {
                try db.insert(token)
                var event = EventLogRow(
                    ts: token.createdAt,
                    kind: "token.created",
                    subject: token.id,
                    message: "join token \(token.id) created, expires \(Self.rfc3339(micros: token.expiresAt))"
                        + (token.description.isEmpty ? "" : " (\(token.description))"),
                    actor: token.createdBy
                )
                try Self.append(db, &event)
            }
        }
    }

    public func joinToken(id: String) async throws -> JoinTokenRow? {
        try await engine.read { db in try db.fetch(JoinTokenRow.self, key: .text(id)) }
    }

    /// Every join token, newest first (never a secret: only its hash is stored).
    public func joinTokens() async throws -> [JoinTokenRow] {
        try await engine.read { db in try db.fetch(JoinTokenRow.self, "ORDER BY created_at DESC, id") }
    }

    /// Withdraws an unused token so that it can no longer enroll a node, and logs it.
    ///
    /// Revoking a revoked or expired token changes nothing and succeeds. Throws
    /// ``PersistenceError/Code/notFound`` for an unknown id and
    /// ``PersistenceError/Code/conflict`` for a token a node already used: that node holds
    /// a certificate now, and removing it is `node delete`'s work.
    @discardableResult
    public func revokeJoinToken(id: String, actor: String, now: Int64) async throws -> JoinTokenRow {
        try await engine.write { db in
            guard var token = try db.fetch(JoinTokenRow.self, key: .text(id)) else {
                throw PersistenceError(.notFound, "no join token \(id)")
            }
            if let usedAt = token.usedAt {
                throw PersistenceError(
                    .conflict,
                    "join token \(id) was already used (at \(Self.rfc3339(micros: usedAt)) by node "
                        + "\(token.usedBy ?? "?")); to remove that node, delete it"
                )
            }
            guard token.revokedAt == nil, token.expiresAt > now else { return token }
            token.revokedAt = now
            try db.update(token)
            var event = EventLogRow(
                ts: now,
                kind: "token.revoked",
                subject: id,
                message: "join token \(id) revoked",
                actor: actor
            )
            try Self.append(db, &event)
            return token
        }
    }

    /// Throws ``PersistenceError/Code/invalidToken`` with the reason unless the token could
    /// be consumed now; consumes nothing. Enrollment asks this before it does any signing
    /// work, and ``enrollNode(tokenID:secretHash:node:certificate:now:)`` checks the same
    /// again in its transaction.
    public func checkJoinToken(id: String, secretHash: [UInt8], now: Int64) async throws {
        try await engine.read { db in _ = try Self.usableJoinToken(db, id: id, secretHash: secretHash, now: now) }
    }

    private static func usableJoinToken(_ db: any SQLTransaction, id: String, secretHash: [UInt8], now: Int64) throws
        -> JoinTokenRow
    {
        guard let token = try db.fetch(JoinTokenRow.self, key: .text(id)) else {
            throw PersistenceError(.invalidToken, "unknown join token \(id)")
        }
        guard ConstantTime.equal(token.secretHash, secretHash) else {
            throw PersistenceError(.invalidToken, "join token \(id) has a wrong secret")
        }
        if let revokedAt = token.revokedAt {
            throw PersistenceError(.invalidToken, "join token \(id) was revoked at \(rfc3339(micros: revokedAt))")
        }
        if let usedAt = token.usedAt {
            throw PersistenceError(
                .invalidToken,
                "join token \(id) was already used (at \(rfc3339(micros: usedAt)) by node \(token.usedBy ?? "?"))"
            )
        }
        guard token.expiresAt > now else {
            throw PersistenceError(.invalidToken, "join token \(id) expired")
        }
        return token
    }

    /// Consumes a join token and records the enrolled node and its certificate, atomically.
    ///
    /// Throws ``PersistenceError/Code/invalidToken`` with the reason (unknown, already
    /// used, expired, wrong secret) and changes nothing in that case. The secret hash is
    /// compared in constant time.
    public func enrollNode(
        tokenID: String,
        secretHash: [UInt8],
        node: NodeRow,
        certificate: CertificateRow,
        now: Int64
    ) async throws {
        try await engine.write { db in
            var token = try Self.usableJoinToken(db, id: tokenID, secretHash: secretHash, now: now)
            token.usedAt = now
            token.usedBy = node.id
            try db.update(token)
            try db.insert(node)
            try db.insert(certificate)
            var event = EventLogRow(
                ts: now,
                kind: "node.enrolled",
                subject: node.id,
                message: "node \(node.name) enrolled with token \(tokenID)"
            )
            try Self.append(db, &event)
        }
    }

    /// Records a certificate issued outside enrollment (control plane, gateways).
    ///
    /// Serials are random; a collision fails rather than overwriting the other record.
    public func recordCertificate(_ certificate: CertificateRow) async throws {
        try await engine.write { db in try db.insert(certificate) }
    }

    /// Revokes the certificate with `serial`, or every unrevoked one issued to `subjectID`
    /// in `role`, and logs it. Returns the rows revoked now (already revoked ones are left).
    public func revokeCertificates(
        serial: String? = nil,
        role: String? = nil,
        subjectID: String? = nil,
        reason: String,
        now: Int64
    ) async throws -> [CertificateRow] {
        guard serial != nil || subjectID != nil else { return [] }
        var clause = "WHERE revoked_at IS NULL"
        var arguments: [SQLValue] = []
        for (column, value) in [("serial", serial?.lowercased()), ("role", role), ("subject_id", subjectID)] {
            guard let value else { continue }
            clause += " AND \(column) = ?"
            arguments.append(.text(value))
        }
        let query = (clause, arguments)
        return try await engine.write { db in
            var rows = try db.fetch(CertificateRow.self, query.0, query.1)
            for index in rows.indices {
                rows[index].revokedAt = now
                rows[index].revokeReason = reason
                try db.update(rows[index])
                var event = EventLogRow(
                    ts: now,
                    kind: "certificate.revoked",
                    subject: rows[index].subjectId,
                    message: "\(rows[index].role) certificate \(rows[index].serial) revoked: \(reason)"
                )
                try Self.append(db, &event)
            }
            return rows
        }
    }

    /// Serials revoked after `since` (microseconds), with the latest revocation time seen.
    public func serialsRevoked(after since: Int64) async throws -> (serials: [String], latest: Int64) {
        let rows = try await engine.read { db in
            try db.rows("SELECT serial, revoked_at FROM certificates WHERE revoked_at > ? ORDER BY revoked_at", [.integer(since)])
        }
        return (rows.compactMap { $0[0].string }, rows.last?[1].int64 ?? since)
    }

    /// Serial numbers of every revoked certificate.
    public func revokedSerials() async throws -> [String] {
        try await engine.read { db in
            try db.values("SELECT serial FROM certificates WHERE revoked_at IS NOT NULL").compactMap(\.string)
        }
    }

    public func certificates(subjectID: String) async throws -> [CertificateRow] {
        try await engine.read { db in try db.fetch(CertificateRow.self, "WHERE subject_id = ?", [.text(subjectID)]) }
    }
}

extension BerthDatabase {
    /// A timestamp column as RFC 3339 UTC, for messages a person reads.
    static func rfc3339(micros: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(micros) / 1_000_000))
    }
}

/// Comparison whose time does not depend on where the inputs differ.
public enum ConstantTime {
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

extension BerthDatabase {
    /// Certificates in force (issued, not revoked, not expired at `now`, microseconds) by
    /// role: how many subjects hold one, and the soonest expiry of each subject's newest (a
    /// renewed certificate's predecessor stays valid until it expires, but is not counted).
    public func certificatesInForce(now: Int64) async throws -> [(role: String, count: Int, soonestExpiry: Int64)] {
        try await engine.read { db in
            try db.rows(
                """
                SELECT role, COUNT(*), MIN(expires_at) FROM (
                    SELECT role, MAX(expires_at) AS expires_at FROM certificates
                    WHERE revoked_at IS NULL AND expires_at > ? GROUP BY role, subject_id
                ) AS newest GROUP BY role ORDER BY role
                """,
                [.integer(now)]
            ).map { (role: $0[0].string ?? "", count: $0[1].int ?? 0, soonestExpiry: $0[2].int64 ?? 0) }
        }
    }
}
