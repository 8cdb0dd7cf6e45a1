import BerthTestSupport
import ControlPlane
import NIOCore
import NodeAgent
import Persistence
import TLSTransport
import Testing
import WireProtocol

/// The races that read-modify-write across an `await` allowed in node bookkeeping, each
/// driven into its worst spot: storage held (a real SQLite writer, blocked) while the other
/// side acts. Node state is changed in memory with no suspension in between and journaled
/// in order (`FleetJournal`), so whatever the interleaving, the outcome is the same.
@Suite struct NodeSessionRaceTests {
    /// Reads a session's frames until its first welcome (true) or its end (false).
    static func welcomed(_ frames: inout NIOAsyncChannelInboundStream<Frame>.AsyncIterator) async -> Bool {
        do {
            while let frame = try await frames.next() {
                if frame.type == .welcome { return true }
                if frame.type == .error { return false }
            }
        } catch {}
        return false
    }

    static func node(_ id: String, via gateway: TestGatewayClient) async throws -> NodeRecord? {
        let reply = try await gateway.client.call(RPCCatalog.listNodes, principal: .root, body: IDQuery(id: id))
        guard reply.status == .ok else { return nil }
        return try NodeList(bytes: reply.body).nodes.first
    }

    /// Connects `enrolled` (welcomed), holds storage, and says hello again on a second
    /// session. `body` runs once that hello has closed the first session and waits for
    /// storage; it gets the hold and the second session's frames.
    static func reconnectWhileStorageIsHeld(
        _ cp: TestControlPlane,
        _ enrolled: EnrolledNode,
        _ body: (WriteHold, inout NIOAsyncChannelInboundStream<Frame>.AsyncIterator) async throws -> Void
    ) async throws {
        let first = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        try await first.executeThenClose { firstInbound, firstOutbound in
            try await firstOutbound.write(Hello().frame())
            var firstFrames = firstInbound.makeAsyncIterator()
            #expect(await Self.welcomed(&firstFrames))
            let hold = await cp.database.holdWrites()
            let second = try await RawConnections.framed(
                port: cp.port,
                identity: enrolled.identity,
                trustRoot: enrolled.caCertificate
            )
            try await second.executeThenClose { inbound, outbound in
                try await outbound.write(Hello().frame())
                try await withTimeout(20, "the second hello to replace the first session") {
                    await cp.logs.waitForLine("closing its previous connection", enrolled.nodeID)
                }
                var frames = inbound.makeAsyncIterator()
                try await body(hold, &frames)
            }
        }
    }

    /// A reconnect waiting for storage, and an operator's drain arriving meanwhile: the drain
    /// stays, in memory and in storage, and the node is Active.
    @Test func aReconnectCannotRollBackADrainMadeWhileItWaitsForStorage() async throws {
        let cp = try await TestControlPlane.start()
        let enrolled = try await cp.enroll(name: "drained")
        let gateway = try await cp.gatewayClient()
        try await Self.reconnectWhileStorageIsHeld(cp, enrolled) { hold, frames in
            var drain = NodeConfigRequest(nodeID: enrolled.nodeID)
            drain.drainMode = true
            let configured = Task {
                try await gateway.client.call(RPCCatalog.configureNode, principal: .root, body: drain)
            }
            try await withTimeout(20, "the drain to be in force") {
                await cp.logs.waitForLine("node configured", enrolled.nodeID)
            }
            await hold.release()
            #expect(await Self.welcomed(&frames))
            #expect(try await configured.value.status == .ok)
            let live = try #require(try await Self.node(enrolled.nodeID, via: gateway))
            #expect(live.drainMode)
            #expect(live.state == "Active")
            let stored = try #require(try await cp.database.node(id: enrolled.nodeID))
            #expect(stored.drainMode)
            #expect(stored.state == "Active")
        }
        await gateway.stop()
        await cp.stop()
    }

    /// A node deleted while its hello waits for storage stays deleted: its session ends, no
    /// row comes back, and a late write of its old row changes nothing.
    @Test func aNodeDeletedWhileItsHelloWaitsForStorageStaysDeleted() async throws {
        let cp = try await TestControlPlane.start()
        let enrolled = try await cp.enroll(name: "deleted")
        let gateway = try await cp.gatewayClient()
        var before: NodeRow?
        try await Self.reconnectWhileStorageIsHeld(cp, enrolled) { hold, frames in
            before = try await cp.database.node(id: enrolled.nodeID)
            let deleted = Task { try await cp.controlPlane.deleteNode(id: enrolled.nodeID) }
            // The delete ends the waiting session at once, before storage is written.
            #expect(!(await Self.welcomed(&frames)))
            await hold.release()
            try await deleted.value
        }
        #expect(try await cp.database.node(id: enrolled.nodeID) == nil)
        #expect(try await Self.node(enrolled.nodeID, via: gateway) == nil)
        // The journal's write of a row it held from before changes nothing either.
        try await cp.database.commit([.node(try #require(before))])
        #expect(try await cp.database.node(id: enrolled.nodeID) == nil)
        // Its certificate is revoked: a third hello is refused.
        let third = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        let frames = try await RawConnections.exchange(third, send: [Hello().frame()])
        #expect(!frames.contains { $0.type == .welcome })
        await gateway.stop()
        await cp.stop()
    }

    /// Two sessions with one certificate say hello while storage is held: exactly one is
    /// welcomed and stays the node's; the other is closed without a welcome.
    @Test func twoSimultaneousSessionsOfOneNodeCannotBothSurvive() async throws {
        let cp = try await TestControlPlane.start()
        let enrolled = try await cp.enroll(name: "twice")
        let gateway = try await cp.gatewayClient()
        let hold = await cp.database.holdWrites()
        let (outcomes, outcome) = AsyncStream.makeStream(of: Bool.self)
        let (done, finish) = AsyncStream.makeStream(of: Void.self)
        var sessions: [Task<Void, any Error>] = []
        for _ in 0..<2 {
            let connection = try await RawConnections.framed(
                port: cp.port,
                identity: enrolled.identity,
                trustRoot: enrolled.caCertificate
            )
            sessions.append(
                Task {
                    try await connection.executeThenClose { inbound, outbound in
                        try await outbound.write(Hello().frame())
                        var frames = inbound.makeAsyncIterator()
                        let welcomed = await Self.welcomed(&frames)
                        outcome.yield(welcomed)
                        // The welcomed session stays open until the checks are done.
                        if welcomed { for await _ in done {} }
                    }
                }
            )
        }
        // Both hellos are in: the second closed the first before either waited for storage.
        try await withTimeout(20, "the second hello to replace the first session") {
            await cp.logs.waitForLine("closing its previous connection", enrolled.nodeID)
        }
        await hold.release()
        var seen: [Bool] = []
        for await welcomed in outcomes {
            seen.append(welcomed)
            if seen.count == 2 { break }
        }
        #expect(seen.sorted { !$0 && $1 } == [false, true])
        #expect(try await Self.node(enrolled.nodeID, via: gateway)?.state == "Active")
        #expect(cp.logs.count(of: "node connected") == 1)
        finish.finish()
        for session in sessions { try? await session.value }
        await gateway.stop()
        await cp.stop()
    }

    /// An instance ends while its node is away; the node comes back without it and sends
    /// the unacknowledged event that says so right after the welcome. The instance goes
    /// straight to what the event says, never through a false `Error`.
    @Test func aReconnectAppliesReplayedEventsBeforeJudgingTheInventory() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "away")
        let gateway = try await cp.gatewayClient()
        // Connection 1: the instance starts (acknowledged).
        let first = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        let command: NodeCommand = try await first.executeThenClose { inbound, outbound in
            try await outbound.write(Hello().frame())
            var frames = inbound.makeAsyncIterator()
            _ = try await gateway.startOne()
            return try await RawConnections.takeCommand(&frames, outbound, epoch: 7, reporting: [.started])
        }
        let events = cp.controlPlane.events.subscribe()
        // Connection 2: the VM stopped meanwhile (its event unacknowledged), so the hello
        // lists no instance and names it as having a pending event.
        let second = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        try await second.executeThenClose { inbound, outbound in
            var hello = Hello()
            hello.lastAppliedCommandID = command.commandID
            hello.lastAppliedEpoch = command.epoch
            hello.pendingEventInstances = [command.instanceID]
            try await outbound.write(hello.frame())
            var frames = inbound.makeAsyncIterator()
            #expect(await Self.welcomed(&frames))
            var stopped = InstanceStatus(instanceID: command.instanceID, state: .stopped)
            stopped.message = "stopped on the node"
            try await outbound.write(InstanceEvent(epoch: 7, sequence: 2, status: stopped, timestampMicros: 2).frame())
            while let frame = try await frames.next(), frame.type != .eventAck {}
        }
        let record = try await events.instance(where: { $0.instanceID == command.instanceID })
        #expect(record.state == .stopped, "\(record.state): \(record.message)")
        let history = try await cp.database.transitions(instanceID: command.instanceID).map(\.state)
        #expect(!history.contains("Error"), "\(history)")
        await gateway.stop()
        await cp.stop()
    }
}
