import BerthTestSupport
import Foundation
import Persistence
import TLSTransport
import Testing
import WireProtocol

@testable import ControlPlane

/// The rules the fleet applies to instances and commands in memory, on a fleet over a real
/// SQLite file: each is checked in memory and, once the journal is flushed, in storage.
@Suite struct FleetStateTests {
    let path = TestPaths.temporaryDirectory("fleet-state").appendingPathComponent("berth.sqlite").path

    /// A database with nodes `n1`, `n2`, template `t1` and the given instances.
    func seed(_ instances: [InstanceRow]) async throws -> BerthDatabase {
        let db = try BerthDatabase(path: path)
        for node in ["n1", "n2"] { try await db.saveNode(NodeRow(id: node, name: node, createdAt: 1)) }
        try await db.insertTemplate(
            TemplateRow(id: "t1", name: "tmpl", arch: "amd64", cpuCores: 2, ramMb: 2048, createdAt: 1),
            versions: [TemplateVersionRow(templateId: "t1", number: 1, tag: "v1", size: 10, createdAt: 1)]
        )
        try await db.insertInstances(instances)
        return db
    }

    /// A fleet loaded from `db`, as a control-plane start loads it.
    func fleet(_ db: BerthDatabase) async throws -> Fleet {
        _ = try await db.beginCommandEpoch(now: BerthDatabase.nowMicros())
        let fleet = Fleet(
            database: db,
            configuration: ControlPlaneConfiguration(),
            revocations: RevocationSet(),
            events: FleetEventHub(),
            logger: TestLogging.logger("fleet")
        )
        try await fleet.load()
        return fleet
    }

    static func instance(_ id: String, on node: String? = nil) -> InstanceRow {
        var row = InstanceRow(id: id, state: "Scheduling", templateId: "t1", crTime: 1)
        row.nodeId = node
        return row
    }

    static func report(_ id: String, _ state: String, from node: String = "n1", epoch: Int64, sequence: Int64) -> TransitionReport {
        TransitionReport(
            instanceID: id,
            state: state,
            message: "",
            progress: 0,
            vminfo: nil,
            ts: 10 + sequence,
            nodeID: node,
            eventEpoch: epoch,
            eventSeq: sequence
        )
    }

    @Test func anEventIsAppliedExactlyOncePerIdempotencyKey() async throws {
        let db = try await seed([Self.instance("i1", on: "n1")])
        let fleet = try await fleet(db)
        guard case .applied(let row) = await fleet.applyReport(Self.report("i1", "Started", epoch: 5, sequence: 1)).outcome
        else { Issue.record("not applied"); return }
        #expect(row.state == "Started")
        #expect(await fleet.applyReport(Self.report("i1", "Stopped", epoch: 5, sequence: 1)).outcome == .duplicate)
        // A new agent epoch starts a new sequence.
        guard case .applied = await fleet.applyReport(Self.report("i1", "Stopped", epoch: 6, sequence: 1)).outcome
        else { Issue.record("new epoch not applied"); return }
        await fleet.journal.flush()
        #expect(try await db.transitions(instanceID: "i1").map(\.state) == ["Scheduling", "Started", "Stopped"])
        let node = try #require(try await db.node(id: "n1"))
        #expect(node.eventEpoch == 6 && node.eventSeq == 1)
        // Reloaded, the key still holds.
        let reloaded = try await self.fleet(db)
        #expect(await reloaded.applyReport(Self.report("i1", "Started", epoch: 6, sequence: 1)).outcome == .duplicate)
    }

    /// The scheduling view is rebuilt only for nodes that changed; after each kind of
    /// change (a node's configuration, its groups, its instances, a group or the node
    /// deleted) it must hold what a rebuild of every node would.
    @Test func theSchedulingViewFollowsEveryKindOfChange() async throws {
        let db = try await seed([Self.instance("i1", on: "n1"), Self.instance("i2")])
        let fleet = try await fleet(db)
        #expect(await fleet.schedulingViewMatchesRebuild())
        #expect(await fleet.schedulingView.nodes.count == 2)

        var config = NodeConfigRequest(nodeID: "n1")
        config.drainMode = true
        config.maxVMCount = 5
        try await fleet.configureNode(config)
        #expect(await fleet.schedulingViewMatchesRebuild())
        #expect(await fleet.schedulingView.nodes.first { $0.id == "n1" }?.drainMode == true)

        let group = try await fleet.createGroup(GroupRecord(name: "racks"))
        try await fleet.setMembership(NodeGroupsRequest(nodeIDs: ["n2"], groupIDs: [group.id]), member: true)
        #expect(await fleet.schedulingViewMatchesRebuild())
        #expect(await fleet.schedulingView.nodes.first { $0.id == "n2" }?.groups == [group.id])

        _ = await fleet.applyReport(Self.report("i1", "Started", epoch: 1, sequence: 1))
        #expect(await fleet.schedulingViewMatchesRebuild())
        #expect(await fleet.schedulingView.nodes.first { $0.id == "n1" }?.running == 1)
        _ = await fleet.applyReport(Self.report("i1", "Terminated", epoch: 1, sequence: 2))
        #expect(await fleet.schedulingViewMatchesRebuild())
        #expect(await fleet.schedulingView.nodes.first { $0.id == "n1" }?.running == 0)

        try await fleet.deleteGroup(id: group.id)
        #expect(await fleet.schedulingViewMatchesRebuild())
        #expect(await fleet.schedulingView.nodes.first { $0.id == "n2" }?.groups == [])

        try await fleet.deleteNode(id: "n2")
        #expect(await fleet.schedulingViewMatchesRebuild())
        #expect(await fleet.schedulingView.nodes.map(\.id) == ["n1"])
    }

    @Test func aNodeCannotChangeAnInstanceOnAnotherNode() async throws {
        let db = try await seed([Self.instance("i1", on: "n1")])
        let fleet = try await fleet(db)
        let forged = Self.report("i1", "Error", from: "n2", epoch: 1, sequence: 1)
        #expect(await fleet.applyReport(forged).outcome == .notOwned)
        #expect(await fleet.instances["i1"]?.state == "Scheduling")
        await fleet.journal.flush()
        #expect(try await db.instance(id: "i1")?.state == "Scheduling")
    }

    @Test func terminatingIsNotUndoneByALateStartReport() async throws {
        let db = try await seed([Self.instance("i1", on: "n1")])
        let fleet = try await fleet(db)
        try await fleet.terminateInstance(id: "i1", by: "test")
        #expect(await fleet.outbox.pending["n1"]?.map(\.row.kind) == ["terminate"])
        _ = await fleet.applyReport(Self.report("i1", "Started", epoch: 1, sequence: 1))
        #expect(await fleet.instances["i1"]?.state == "Terminating")
        _ = await fleet.applyReport(Self.report("i1", "Terminated", epoch: 1, sequence: 2))
        #expect(await fleet.instances["i1"]?.state == "Terminated")
        try await fleet.terminateInstance(id: "i1", by: "test")
        #expect(await fleet.outbox.pending["n1"]?.count == 1)
        await fleet.journal.flush()
        #expect(try await db.instance(id: "i1")?.state == "Terminated")
        #expect(try await db.transitions(instanceID: "i1").map(\.state) == ["Scheduling", "Terminating", "Terminated"])
        #expect(try await db.pendingCommands(nodeID: "n1").map(\.kind) == ["terminate"])
    }

    @Test func anUnplacedInstanceTerminatesAtOnceAndIsPurgedAfterRetention() async throws {
        let db = try await seed([Self.instance("old"), Self.instance("live")])
        let fleet = try await fleet(db)
        #expect(await fleet.instances.queued == ["old", "live"])
        try await fleet.terminateInstance(id: "old", by: "test")
        #expect(await fleet.instances.queued == ["live"])
        #expect(await fleet.instances["old"]?.state == "Terminated")
        await #expect(throws: ControlPlaneError.self) { try await fleet.terminateInstance(id: "nope", by: "test") }
        await fleet.purgeTerminated(before: BerthDatabase.nowMicros() + 1)
        #expect(await fleet.instances["old"] == nil)
        await fleet.journal.flush()
        #expect(try await db.instances().map(\.id) == ["live"])
        #expect(try await db.transitions(instanceID: "old").isEmpty)
    }

    @Test func anEndedEnvironmentIsPurgedWithItsLastMemberAndALiveOneStays() async throws {
        func member(_ id: String, of env: String) -> InstanceRow {
            var row = Self.instance(id)
            row.state = "Terminated"
            row.envId = env
            return row
        }
        let db = try await seed([member("e1-a", of: "ended"), member("e1-b", of: "ended"), member("l-a", of: "live")])
        for (id, state) in [("ended", "destroyed"), ("live", "running")] {
            var environment = EnvironmentRow(
                id: id,
                owner: "o",
                createdBy: "o",
                sshKeys: "",
                state: state,
                lifetimeSeconds: 60,
                expiresAt: .max,
                placementTimeoutSeconds: 5,
                createdAt: 1
            )
            environment.endedAt = state == "destroyed" ? 2 : 0
            try await db.insertEnvironment(environment)
        }
        let fleet = try await fleet(db)
        #expect(await fleet.environments.keys.sorted() == ["ended", "live"])
        await fleet.purgeTerminated(before: BerthDatabase.nowMicros() + 1)
        #expect(await fleet.environments.keys.sorted() == ["live"])
        await fleet.journal.flush()
        #expect(try await db.environments().map(\.id) == ["live"])
    }

    /// Ids continue above everything storage ever issued, under the new start's epoch, and
    /// unacknowledged commands come back with a restart.
    @Test func commandIdsGrowAcrossRestartsAndTheOutboxIsReloaded() async throws {
        let db = try await seed([])
        let first = try await fleet(db)
        await first.queueCommand(nodeID: "n1", instanceID: "", kind: "update_agent", payload: nil, now: 1)
        await first.queueCommand(nodeID: "n1", instanceID: "", kind: "update_agent", payload: nil, now: 1)
        await first.journal.flush()
        let firstEpoch = await first.outbox.epoch
        let second = try await fleet(db)
        #expect(await second.outbox.pending["n1"]?.map(\.row.id) == [1, 2])
        await second.queueCommand(nodeID: "n1", instanceID: "", kind: "update_agent", payload: nil, now: 2)
        let issued = try #require(await second.outbox.pending["n1"]?.last?.row)
        #expect(issued.id == 3)
        #expect(issued.epoch != firstEpoch && issued.epoch > 0)
    }

    /// A node's "applied through" counts as far as this database's history agrees.
    @Test func aNodesMarkCountsAsFarAsThisDatabasesHistoryAgrees() async throws {
        let db = try await seed([])
        let earlier = try await fleet(db)
        for _ in 0..<3 { await earlier.queueCommand(nodeID: "n1", instanceID: "", kind: "stop", payload: nil, now: 1) }
        await earlier.journal.flush()
        let first = await earlier.outbox.epoch
        let fleet = try await fleet(db)
        let second = await fleet.outbox.epoch
        await fleet.queueCommand(nodeID: "n1", instanceID: "", kind: "stop", payload: nil, now: 2)
        var outbox = await fleet.outbox
        // A mark within the first epoch's history acknowledges through it.
        #expect(outbox.agreed(epoch: first, id: 2) == (2, false))
        // Beyond what the first epoch issued here: the database went back; only the shared part counts.
        #expect(outbox.agreed(epoch: first, id: 9) == (3, true))
        // An epoch this database never began counts for nothing.
        #expect(outbox.agreed(epoch: 12345, id: 4) == (0, true))
        // The current epoch's mark reaches its last id.
        #expect(outbox.agreed(epoch: second, id: 4) == (4, false))
        outbox.acknowledge(through: 3, nodeID: "n1")
        #expect(outbox.pending["n1"]?.map(\.row.id) == [4])
    }

    /// Groups and memberships change in memory and reach storage through the journal with
    /// storage's own rules: a fresh fleet loaded from the file sees what the first one held.
    @Test func groupsAndMembershipsChangeInMemoryAndReachStorageInOrder() async throws {
        let db = try await seed([])
        let fleet = try await fleet(db)
        let fast = try await fleet.createGroup(GroupRecord(id: "", name: "fast", description: "M2"))
        let slow = try await fleet.createGroup(
            GroupRecord(id: "", name: "slow", description: "", fallbackGroupID: fast.id)
        )
        await #expect(throws: ControlPlaneError.self) {
            try await fleet.createGroup(GroupRecord(id: "", name: "fast", description: "again"))
        }
        await #expect(throws: ControlPlaneError.self) {
            var cycle = GroupUpdateRequest(id: fast.id)
            cycle.fallbackGroupID = slow.id
            try await fleet.updateGroup(cycle)
        }
        try await fleet.setMembership(
            NodeGroupsRequest(nodeIDs: ["n1", "n2"], groupIDs: [fast.id, slow.id]),
            member: true
        )
        try await fleet.setMembership(NodeGroupsRequest(nodeIDs: ["n2"], groupIDs: [slow.id]), member: false)
        await #expect(throws: ControlPlaneError.self) {
            try await fleet.setMembership(NodeGroupsRequest(nodeIDs: ["nope"], groupIDs: [fast.id]), member: true)
        }
        var rename = GroupUpdateRequest(id: slow.id)
        rename.name = "slower"
        try await fleet.updateGroup(rename)
        // Deleting `fast` drops its memberships and clears `slower`'s fallback, here and in storage.
        try await fleet.deleteGroup(id: fast.id)
        let held = await fleet.groups
        #expect(held.sorted.map(\.name) == ["slower"])
        #expect(held[slow.id]?.fallbackGroupId == nil)
        #expect(held.memberships == ["n1": [slow.id]])

        #expect(try await db.groups().map(\.name) == ["slower"])
        #expect(try await db.groups().first?.fallbackGroupId == nil)
        #expect(try await db.groupMemberships() == ["n1": [slow.id]])
        let reloaded = try await self.fleet(db)
        #expect(await reloaded.listGroups() == [GroupRecord(id: slow.id, name: "slower", description: "")])
        #expect(await reloaded.groups.memberships == ["n1": [slow.id]])
    }
}
