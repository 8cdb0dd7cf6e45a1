import Foundation
import BerthTestSupport
import Persistence
import Testing

/// Storage tests on both engines: a real SQLite file in a fresh temporary directory, and a
/// fresh database on a real PostgreSQL server, per test.
@Suite struct DatabaseTests {
    func seed(_ db: BerthDatabase, nodes: [String] = ["n1"]) async throws {
        let now = BerthDatabase.nowMicros()
        for node in nodes { try await db.saveNode(NodeRow(id: node, name: node, createdAt: now)) }
        try await db.insertTemplate(
            TemplateRow(id: "t1", name: "tmpl", arch: "amd64", cpuCores: 2, ramMb: 2048, createdAt: now),
            versions: [TemplateVersionRow(templateId: "t1", number: 1, tag: "v1", size: 10, createdAt: now)]
        )
    }

    func instance(_ id: String, priority: Int = 1000, at time: Int64 = 1) -> InstanceRow {
        var row = InstanceRow(id: id, state: "Scheduling", templateId: "t1", crTime: time)
        row.priority = priority
        return row
    }

    @Test(arguments: StorageEngine.allCases) func migratesAnEmptyDatabase(engine: StorageEngine) async throws {
        let store = try await TestStore(engine)
        let db = try await store.open()
        if engine == .sqlite { #expect(try await db.journalMode() == "wal") }
        for table in [
            "nodes", "instances", "instance_transitions", "templates", "template_versions", "node_commands",
            "join_tokens", "certificates", "event_log",
        ] {
            #expect(try await db.count(table: table) == 0)
        }
        // Reopening an up-to-date database is a no-op.
        _ = try await store.open()
    }

    @Test(arguments: StorageEngine.allCases) func aRevokedTokenEnrollsNothingAndAUsedOneCannotBeRevoked(engine: StorageEngine) async throws {
        let store = try await TestStore(engine)
        let db = try await store.open()
        let now = BerthDatabase.nowMicros()
        let hash: [UInt8] = Array(repeating: 7, count: 32)
        try await db.insertJoinTokens([
            JoinTokenRow(id: "revoke", secretHash: hash, description: "", createdAt: now, expiresAt: now + 60_000_000),
            JoinTokenRow(id: "usedup", secretHash: hash, description: "", createdAt: now, expiresAt: now + 60_000_000),
            JoinTokenRow(id: "stale1", secretHash: hash, description: "", createdAt: now - 2, expiresAt: now - 1),
        ])
        let revoked = try await db.revokeJoinToken(id: "revoke", actor: "root", now: now)
        #expect(revoked.state(now: now) == "revoked")
        func enroll(_ token: String, _ node: String) async throws {
            try await db.enrollNode(
                tokenID: token,
                secretHash: hash,
                node: NodeRow(id: node, name: node, createdAt: now),
                certificate: CertificateRow(serial: node, role: "node", subjectId: node, issuedAt: now, expiresAt: now + 1),
                now: now
            )
        }
        await #expect(throws: PersistenceError(.invalidToken, "join token revoke was revoked at \(Self.rfc3339(now))")) {
            try await enroll("revoke", "n1")
        }
        try await enroll("usedup", "n2")
        let used = await #expect(throws: PersistenceError.self) {
            try await db.revokeJoinToken(id: "usedup", actor: "root", now: now)
        }
        #expect(used?.code == .conflict && used?.reason.contains("by node n2") == true)
        await #expect(throws: PersistenceError.self) { try await db.revokeJoinToken(id: "nope00", actor: "root", now: now) }
        // Revoking again, or an expired token, changes nothing.
        #expect(try await db.revokeJoinToken(id: "revoke", actor: "root", now: now + 5).revokedAt == now)
        #expect(try await db.revokeJoinToken(id: "stale1", actor: "root", now: now).state(now: now) == "expired")
        let states = try await db.joinTokens().map { "\($0.id):\($0.state(now: now))" }
        #expect(states == ["revoke:revoked", "usedup:used", "stale1:expired"])
        #expect(try await db.events(kindPrefix: "token.revoked").count == 1)
        #expect(try await db.events(kindPrefix: "token.created").count == 3)
    }

    static func rfc3339(_ micros: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(micros) / 1_000_000))
    }

    @Test(arguments: StorageEngine.allCases) func aTokenIsConsumedOnceAtomicallyWithTheNodeAndCertificate(engine: StorageEngine) async throws {
        let store = try await TestStore(engine)
        let db = try await store.open()
        let now = BerthDatabase.nowMicros()
        let hash: [UInt8] = Array(repeating: 7, count: 32)
        try await db.insertJoinToken(
            JoinTokenRow(id: "abcdef", secretHash: hash, description: "", createdAt: now, expiresAt: now + 60_000_000)
        )
        let certificate = CertificateRow(serial: "01", role: "node", subjectId: "n1", issuedAt: now, expiresAt: now + 1)
        await #expect(throws: PersistenceError.self) {
            try await db.enrollNode(
                tokenID: "abcdef",
                secretHash: Array(repeating: 8, count: 32),
                node: NodeRow(id: "n0", name: "x", createdAt: now),
                certificate: certificate,
                now: now
            )
        }
        #expect(try await db.nodes().isEmpty)
        try await db.enrollNode(
            tokenID: "abcdef",
            secretHash: hash,
            node: NodeRow(id: "n1", name: "a", createdAt: now),
            certificate: certificate,
            now: now
        )
        await #expect(throws: PersistenceError.self) {
            try await db.enrollNode(
                tokenID: "abcdef",
                secretHash: hash,
                node: NodeRow(id: "n2", name: "b", createdAt: now),
                certificate: CertificateRow(
                    serial: "02",
                    role: "node",
                    subjectId: "n2",
                    issuedAt: now,
                    expiresAt: now + 1
                ),
                now: now
            )
        }
        #expect(try await db.nodes().map(\.id) == ["n1"])
        #expect(try await db.joinToken(id: "abcdef")?.usedBy == "n1")
    }

    @Test(arguments: StorageEngine.allCases) func deletingANodeRevokesItsCertificatesDurably(engine: StorageEngine) async throws {
        let store = try await TestStore(engine)
        let db = try await store.open()
        try await seed(db)
        try await db.recordCertificate(
            CertificateRow(serial: "aa", role: "node", subjectId: "n1", issuedAt: 1, expiresAt: 2)
        )
        var placed = instance("i1")
        placed.nodeId = "n1"
        try await db.insertInstances([placed])
        try await db.commit([
            .command(NodeCommandRow(nodeId: "n1", instanceId: "i1", kind: "start", payload: nil, createdAt: 2))
        ])
        #expect(try await db.pendingCommands(nodeID: "n1").count == 1)
        #expect(try await db.deleteNode(id: "n1", now: 3) == ["aa"])
        let reopened = try await store.open()
        #expect(try await reopened.revokedSerials() == ["aa"])
        #expect(try await reopened.instance(id: "i1")?.state == "Terminated")
        #expect(try await reopened.pendingCommands(nodeID: "n1").isEmpty)
        await #expect(throws: PersistenceError.self) { _ = try await reopened.deleteNode(id: "n1", now: 4) }
    }

    @Test(arguments: StorageEngine.allCases) func everythingCommittedSurvivesReopening(engine: StorageEngine) async throws {
        let store = try await TestStore(engine)
        do {
            let db = try await store.open()
            try await seed(db)
            try await db.insertInstances([instance("i1"), instance("i2")])
        }
        let db = try await store.open()
        #expect(Set(try await db.instances().map(\.id)) == ["i1", "i2"])
        #expect(try await db.template(id: "t1")?.name == "tmpl")
    }

}

extension DatabaseTests {
    @Test(arguments: StorageEngine.allCases) func savingAStaleNodeRowDoesNotRollBackItsEventKey(engine: StorageEngine) async throws {
        let store = try await TestStore(engine)
        let db = try await store.open()
        try await seed(db)
        let stale = try #require(try await db.node(id: "n1"))
        try await db.commit([.nodeEventKey(nodeID: "n1", epoch: 9, sequence: 4)])
        try await db.saveNode(stale)
        try await db.commit([.node(stale)])
        let stored = try #require(try await db.node(id: "n1"))
        #expect(stored.eventEpoch == 9 && stored.eventSeq == 4)
    }

    /// Every description column a node change writes lands in its own column: the hand-
    /// written UPDATE's values follow `descriptionColumns` in order.
    @Test(arguments: StorageEngine.allCases) func aNodeChangeWritesEveryDescriptionColumn(engine: StorageEngine) async throws {
        let store = try await TestStore(engine)
        let db = try await store.open()
        try await seed(db)
        var node = try #require(try await db.node(id: "n1"))
        node.name = "renamed"
        node.state = "Active"
        node.ipAddress = "10.0.0.9"
        node.cpuCount = 3
        node.ramMb = 4
        node.arch = "arm64"
        node.maxVmCount = 5
        node.capacityMode = "resource"
        node.vcpuOverride = 6
        node.ramOverride = 7
        node.drainMode = true
        node.agentVersion = "agent/8"
        node.templates = [9, 0, 255]
        node.diskSize = 10
        node.freeDisk = 11
        node.cpuUtil = 0.12
        node.ramUtil = 0.13
        node.lastSeen = 14
        node.capacityConfigured = true
        node.host = "host-15"
        node.vlans = "16\n17"
        node.usbDevices = "dev\t18"
        node.cacheBytes = 19
        try await db.commit([.node(node)])
        #expect(try await db.node(id: "n1") == node)
        node.name = "again"
        try await db.saveNode(node)
        #expect(try await db.node(id: "n1") == node)
        // A change about a node deleted meanwhile writes nothing and creates nothing.
        var gone = node
        gone.id = "gone"
        try await db.commit([.node(gone)])
        #expect(try await db.node(id: "gone") == nil)
    }

    /// Two creates that (by a broken generator) share an id: the second fails, the first
    /// stays. An update of a group deleted meanwhile does not bring it back.
    @Test(arguments: StorageEngine.allCases) func creatingAGroupWithATakenIdFailsInsteadOfOverwriting(engine: StorageEngine) async throws {
        let store = try await TestStore(engine)
        let db = try await store.open()
        let id = "00000000-0000-4000-8000-000000000000"
        try await db.saveGroup(NodeGroupRow(id: id, name: "first", description: "", fallbackGroupId: nil, createdAt: 1), creating: true)
        await #expect(throws: PersistenceError.self) {
            try await db.saveGroup(NodeGroupRow(id: id, name: "second", description: "", fallbackGroupId: nil, createdAt: 2), creating: true)
        }
        #expect(try await db.group(id: id)?.name == "first")
        try await db.deleteGroup(id: id)
        await #expect(throws: PersistenceError.self) {
            try await db.saveGroup(NodeGroupRow(id: id, name: "renamed", description: "", fallbackGroupId: nil, createdAt: 1), creating: false)
        }
        #expect(try await db.group(id: id) == nil)
    }

    /// A node that holds a version finishes its pulls of that version only: not other
    /// versions, not other nodes, not cancelled or failed pulls. The lookup uses the index.
    @Test(arguments: StorageEngine.allCases) func templatesHeldFinishOnlyThatNodesPendingPullsOfThoseVersions(engine: StorageEngine) async throws {
        let store = try await TestStore(engine)
        let db = try await store.open()
        try await seed(db, nodes: ["n1", "n2"])
        try await db.insertDistribution(
            DistributionRow(id: "d1", templateId: "t1", tag: "v1", requestedAt: 1),
            nodes: ["n1", "n2"].map { DistributionNodeRow(distributionId: "d1", nodeId: $0) }
        )
        try await db.insertDistribution(
            DistributionRow(id: "d2", templateId: "t1", tag: "v2", requestedAt: 2),
            nodes: [DistributionNodeRow(distributionId: "d2", nodeId: "n1")]
        )
        try await db.commit([
            .templatesHeld(nodeID: "n1", versions: [TemplateVersionKey(templateID: "t1", tag: "v1")])
        ])
        func done(_ id: String) async throws -> [String: Bool] {
            let nodes = try await db.distributions(id: id).first?.1 ?? []
            return Dictionary(uniqueKeysWithValues: nodes.map { ($0.nodeId, $0.done) })
        }
        #expect(try await done("d1") == ["n1": true, "n2": false])
        #expect(try await done("d2") == ["n1": false])
        guard engine == .sqlite else { return }
        let plan = try await db.explain(
            """
            SELECT dn.distribution_id FROM distribution_nodes dn
            WHERE dn.node_id = 'n1' AND dn.done = 0 AND dn.error = ''
            """
        )
        #expect(plan.contains("distribution_nodes_pending"), "\(plan)")
    }
}

extension DatabaseTests {
    @Test(arguments: StorageEngine.allCases) func sessionsAreStoredInOrderAndEndWithTheirKey(engine: StorageEngine) async throws {
        let store = try await TestStore(engine)
        let db = try await store.open()
        let now = BerthDatabase.nowMicros()
        try await db.insertAPIKey(APIKeyRow(id: "k1", publicKey: [1], groups: [], createdAt: now, expiresAt: now + 60_000_000))
        func session(_ id: String, key: String = "", user: String = "", expires: Int64) -> SessionRow {
            SessionRow(id: id, tokenHash: Array(repeating: 9, count: 32), keyId: key, oidcUser: user, oidcGroups: user.isEmpty ? [] : ["dev", "ops team"], expiresAt: expires)
        }
        try await db.applySessionChanges([
            .insert(session("tap", key: "k1", expires: now + 300_000_000)),
            .insert(session("root", expires: now + 300_000_000)),
            .insert(session("oidc", user: "ann", expires: now + 300_000_000)),
            .insert(session("gone", expires: now + 300_000_000)),
            .insert(session("stale", expires: now - 1)),
            // One batch, in order: deleted after its insert, and a retried insert is no conflict.
            .delete(id: "gone"),
            .insert(session("root", expires: now + 300_000_000)),
        ])
        var live = try await db.liveSessions(now: now)
        #expect(live.map(\.id).sorted() == ["oidc", "root", "tap"])
        #expect(live.first { $0.id == "oidc" }?.oidcGroupNames == ["dev", "ops team"])
        #expect(live.first { $0.id == "tap" }?.tokenHash == Array(repeating: 9, count: 32))
        #expect(try await db.count(table: "sessions") == 4)
        try await db.applySessionChanges([.purge(before: now)])
        #expect(try await db.count(table: "sessions") == 3)

        // Deleting the key ends its sessions in storage too.
        try await db.deleteAPIKey(id: "k1")
        live = try await db.liveSessions(now: now)
        #expect(live.map(\.id).sorted() == ["oidc", "root"])
    }
}
