import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Persistence
import RESTGateway
import TLSTransport
import Testing
import WireProtocol

/// Control-plane replicas on one PostgreSQL database (issue 15, docs/ha.md): one leads by
/// the lease, followers send nodes and gateways to it, and a hand-over or a lost lease
/// moves the fleet without losing what was acknowledged.
@Suite struct ReplicaTests {
    static var quick: ControlPlaneReplica.Timing { TestReplica.quickTiming }

    @Test func aFollowerSendsNodesAndGatewaysToTheLeaderAndTakesOverOnAHandOver() async throws {
        let store = try await TestStore(.postgres)
        let a = try await TestReplica.start(store: store, timing: Self.quick)
        let leaderA = try await a.waitLeading()
        try await TestTemplates.seed(leaderA.database)
        let b = try await TestReplica.start(store: store, timing: Self.quick)
        try await b.waitRole { $0 == .following(leader: "127.0.0.1:\(a.port)") }

        // A join sent to the follower is refused with the leader's address.
        let token = try await leaderA.enrollment.createToken(ttl: 60)
        let refused = await #expect(throws: NodeAgentError.self) {
            try await NodeEnrollment.join(
                host: "127.0.0.1",
                port: b.port,
                token: token.description,
                pin: leaderA.authority.pin,
                nodeName: "via-follower"
            )
        }
        #expect(refused?.reason.contains("the leader is at 127.0.0.1:\(a.port)") == true, "\(String(describing: refused))")

        // The node and the gateway are given the follower first.
        let enrolled = try await a.enroll(name: "mini-1")
        let events = leaderA.events.subscribe()
        let agent = TestAgent.start(enrolled, name: "mini-1", at: b.address, others: [a.address])
        try await events.node(enrolled.nodeID, becomes: "Active")
        let identity = try await leaderA.issueGatewayIdentity(name: "gw")
        let gateway = TestGatewayClient.start(identity: identity, trustRoot: leaderA.authority.certificate, at: b.address, others: [a.address])
        let first = try await gateway.startOne(node: enrolled.nodeID)
        try await events.instances([first], reach: .started, timeout: 30)
        #expect(b.replica.redirectsSent >= 2, "both came through the follower's redirect")
        #expect(await agent.agent.connections == 1)
        // A template version pushed through A, its chunks in the database.
        let disk = (0..<300_000).map { _ in UInt8.random(in: 0...255) }
        try await leaderA.addTemplateVersion(
            templateID: TestTemplates.linux,
            tag: "pushed-on-a",
            files: [(path: "disk.img", data: disk)],
            chunkSize: 64 * 1024
        )

        // A shuts down: it hands the lease over, and B leads without waiting for it to lapse.
        let clock = ContinuousClock()
        let stopped = clock.now
        await a.stop()
        let leaderB = try await b.waitLeading()
        #expect(clock.now - stopped < .seconds(Self.quick.lease))
        let eventsB = leaderB.events.subscribe()
        try await eventsB.node(enrolled.nodeID, becomes: "Active")
        // What A acknowledged is in B's fleet once, and new starts work.
        let listed = try await gateway.list()
        #expect(listed.filter { $0 == first }.count == 1)
        let second = try await gateway.startOne(node: enrolled.nodeID)
        try await eventsB.instances([second], reach: .started, timeout: 30)
        #expect(await agent.agent.connections == 2)
        // A node new to the template pulls it from B, chunk by chunk.
        let newcomer = try await b.enroll(name: "mini-new")
        let pulling = TestAgent.start(newcomer, name: "mini-new", at: b.address, others: [])
        try await eventsB.node(newcomer.nodeID, becomes: "Active")
        let third = try await gateway.startOne(tag: "pushed-on-a", node: newcomer.nodeID)
        try await eventsB.instances([third], reach: .started, timeout: 30)
        let fetched = await pulling.agent.bytesFetched
        #expect(fetched == disk.count)
        await pulling.stop()

        await gateway.stop()
        await agent.stop()
        await b.stop()
    }

    @Test func aLeaderWhoseLeaseIsTakenStopsServingAndCannotWrite() async throws {
        let store = try await TestStore(.postgres)
        let a = try await TestReplica.start(store: store, timing: Self.quick)
        let leader = try await a.waitLeading()
        let enrolled = try await a.enroll(name: "mini-2")
        let agent = TestAgent.start(enrolled, name: "mini-2", at: a.address, others: [])
        try await agent.waitConnected(timeout: 30)

        // Another holder takes the lease over (as a replica would after a long pause here).
        let thief = try await store.open()
        try await thief.engine.write { db in
            try db.execute(
                "UPDATE leader_lease SET holder = 'thief', address = '', epoch = epoch + 1, expires_at = now() + interval '2 seconds'",
                []
            )
        }
        try await a.waitRole(timeout: 30) { if case .following = $0 { true } else { false } }
        // The deposed term's control plane cannot write, and its node was let go.
        let refused = await #expect(throws: PersistenceError.self) {
            _ = try await leader.enrollment.createToken(ttl: 60)
        }
        #expect(refused?.code == .fenced)
        _ = try await agent.wait(for: { if case .disconnected = $0 { true } else { false } }, timeout: 10)

        // Once the thief's lease lapses, A leads again with a new state load, and the node
        // is back.
        let again = try await a.waitLeading(timeout: 30)
        #expect(again !== leader)
        guard case .leading(let epoch) = a.replica.role else { throw TestFailure("not leading") }
        #expect(epoch >= 3)
        try await agent.waitConnected(timeout: 30)
        await agent.stop()
        await a.stop()
    }
}
