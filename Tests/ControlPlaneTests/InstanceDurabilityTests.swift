import BerthTestSupport
import ControlPlane
import NIOCore
import Persistence
import Testing
import WireProtocol

/// Instances and commands change in memory first and reach storage through the journal;
/// nobody is told of a change before it is durable. Each test holds the real SQLite writer
/// while the change is made, and checks storage at the moment the peer hears of it.
@Suite struct InstanceDurabilityTests {
    /// A node's event is applied in memory at once, but acknowledged only once storage
    /// holds it: when the acknowledgement arrives, the stored row is `Started` already.
    @Test func anEventIsAcknowledgedOnlyOnceStorageHoldsIt() async throws {
        let cp = try await TestControlPlane.start(logLevel: .trace)
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "durable-events")
        let gateway = try await cp.gatewayClient()
        let connection = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(Hello().frame())
            var frames = inbound.makeAsyncIterator()
            _ = try await gateway.startOne()
            let command = try await RawConnections.takeCommand(&frames, outbound, epoch: 3, reporting: [])
            let hold = await cp.database.holdWrites()
            let started = InstanceStatus(instanceID: command.instanceID, state: .started)
            try await outbound.write(InstanceEvent(epoch: 3, sequence: 1, status: started, timestampMicros: 1).frame())
            try await withTimeout(20, "the event to be applied in memory") {
                await cp.logs.waitForLine("instance event applied", command.instanceID, "Started")
            }
            #expect(try await cp.database.instance(id: command.instanceID)?.state == "Scheduling")
            // Storage is let go while the frames are read: whenever the ack comes, storage
            // is read at once.
            let releasing = Task { await hold.release() }
            var storedAtAck: String?
            while let frame = try await frames.next() {
                guard frame.type == .eventAck else { continue }
                storedAtAck = try await cp.database.instance(id: command.instanceID)?.state
                break
            }
            await releasing.value
            #expect(storedAtAck == "Started")
        }
        await gateway.stop()
        await cp.stop()
    }

    /// An operator's terminate is in force in memory at once, but its command reaches the
    /// node only once storage holds it: when the node reads it, the stored outbox has it and
    /// the stored row is `Terminating`.
    @Test func aCommandReachesItsNodeOnlyOnceStorageHoldsIt() async throws {
        let cp = try await TestControlPlane.start(logLevel: .trace)
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "durable-commands")
        let gateway = try await cp.gatewayClient()
        let connection = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(Hello().frame())
            var frames = inbound.makeAsyncIterator()
            _ = try await gateway.startOne()
            let start = try await RawConnections.takeCommand(&frames, outbound, epoch: 4, reporting: [.started])
            let hold = await cp.database.holdWrites()
            let terminated = Task {
                try await gateway.client.call(
                    RPCCatalog.terminateInstance,
                    principal: .root,
                    body: IDQuery(id: start.instanceID)
                )
            }
            try await withTimeout(20, "the terminate command to be issued") {
                await cp.logs.waitForLine("command issued", "kind=terminate", start.instanceID)
            }
            let releasing = Task { await hold.release() }
            var storedAtDelivery: (outbox: [Int64], state: String?, command: Int64)?
            while let frame = try await frames.next() {
                guard frame.type == .nodeCommand else { continue }
                let command = try NodeCommand(payload: frame.payload)
                guard command.kind == .terminate else { continue }
                storedAtDelivery = (
                    try await cp.database.pendingCommands(nodeID: enrolled.nodeID).compactMap(\.id),
                    try await cp.database.instance(id: start.instanceID)?.state,
                    Int64(command.commandID)
                )
                break
            }
            await releasing.value
            let stored = try #require(storedAtDelivery)
            #expect(stored.outbox.contains(stored.command))
            #expect(stored.state == "Terminating")
            #expect(try await terminated.value.status == .ok)
        }
        await gateway.stop()
        await cp.stop()
    }

    /// A scheduling pass places an instance while storage is held (a drain lifted): the start
    /// command reaches the node only once the placement and the command are stored.
    @Test func aPlacementReachesItsNodeOnlyOnceStorageHoldsIt() async throws {
        let cp = try await TestControlPlane.start(logLevel: .trace)
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "durable-placements")
        let gateway = try await cp.gatewayClient()
        let connection = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(Hello().frame())
            var frames = inbound.makeAsyncIterator()
            #expect(await NodeSessionRaceTests.welcomed(&frames))
            var drain = NodeConfigRequest(nodeID: enrolled.nodeID)
            drain.drainMode = true
            #expect(
                try await gateway.client.call(RPCCatalog.configureNode, principal: .root, body: drain).status == .ok
            )
            let events = cp.controlPlane.events.subscribe()
            let id = try await gateway.startOne()
            // The pass that finds the node draining records why the instance waits, and is
            // done once that is published; a pass still waiting for storage would hold back
            // the one the undrain asks for.
            _ = try await events.instance(where: { $0.instanceID == id && $0.waitReason.contains("drain mode") })
            let hold = await cp.database.holdWrites()
            drain.drainMode = false
            let undrained = Task {
                try await gateway.client.call(RPCCatalog.configureNode, principal: .root, body: drain)
            }
            try await withTimeout(20, "the start command to be issued") {
                await cp.logs.waitForLine("command issued", "kind=start", id)
            }
            let releasing = Task { await hold.release() }
            var storedAtDelivery: (outbox: [Int64], node: String?, command: Int64)?
            while let frame = try await frames.next() {
                guard frame.type == .nodeCommand else { continue }
                let command = try NodeCommand(payload: frame.payload)
                guard command.kind == .start, command.instanceID == id else { continue }
                storedAtDelivery = (
                    try await cp.database.pendingCommands(nodeID: enrolled.nodeID).compactMap(\.id),
                    try await cp.database.instance(id: id)?.nodeId,
                    Int64(command.commandID)
                )
                break
            }
            await releasing.value
            let stored = try #require(storedAtDelivery)
            #expect(stored.outbox.contains(stored.command))
            #expect(stored.node == enrolled.nodeID)
            #expect(try await undrained.value.status == .ok)
        }
        await gateway.stop()
        await cp.stop()
    }
}
