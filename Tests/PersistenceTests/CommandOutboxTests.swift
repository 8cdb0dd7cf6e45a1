import Foundation
import Persistence
import Testing

/// The node command outbox stays bounded and its ids only grow (issue 12).
@Suite struct CommandOutboxTests {
    let path: String

    init() throws {
        path = try TemporaryDatabase.path("berth-outbox")
    }

    @Test func acknowledgedCommandsArePurgedAndIdsAreNeverReused() async throws {
        let db = try BerthDatabase(path: path)
        var ids: [Int64] = []
        for index in 0..<4 {
            let command = try await db.queueCommand(
                NodeCommandRow(nodeId: "n1", instanceId: "i\(index)", kind: "start", payload: [1, 2], createdAt: 1)
            )
            ids.append(try #require(command.id))
        }
        // The node applied the first three (the newest of them is the highest id so far but one).
        try await db.acknowledgeCommands(upTo: ids[2], nodeID: "n1", now: 100)
        #expect(try await db.purgeAcknowledgedCommands(before: 101) == 3)
        #expect(try await db.count(table: "node_commands") == 1)
        #expect(try await db.pendingCommands(nodeID: "n1").map(\.id) == [ids[3]])
        // The last one too: with the outbox empty, a new command still gets a new, higher id.
        try await db.acknowledgeCommand(id: ids[3], nodeID: "n1", now: 100)
        #expect(try await db.purgeAcknowledgedCommands(before: 101) == 1)
        #expect(try await db.count(table: "node_commands") == 0)
        let next = try await db.queueCommand(
            NodeCommandRow(nodeId: "n1", instanceId: "i9", kind: "stop", payload: nil, createdAt: 2)
        )
        #expect(try #require(next.id) > ids[3])
        // A purged command acknowledged again is a duplicate, as before.
        #expect(try await db.acknowledgeCommand(id: ids[0], nodeID: "n1", now: 200) == false)
        // Commands acknowledged after the cutoff stay.
        try await db.acknowledgeCommand(id: try #require(next.id), nodeID: "n1", now: 300)
        #expect(try await db.purgeAcknowledgedCommands(before: 250) == 0)
    }

    @Test func aNodesMarkCountsAsFarAsThisDatabasesHistoryAgrees() async throws {
        let db = try BerthDatabase(path: path)
        let first = try await db.beginCommandEpoch(now: 1)
        var ids: [Int64] = []
        for index in 0..<3 {
            let command = try await db.queueCommand(
                NodeCommandRow(nodeId: "n1", instanceId: "i\(index)", kind: "start", payload: nil, createdAt: 1)
            )
            #expect(command.epoch == first)
            ids.append(try #require(command.id))
        }
        let second = try await db.beginCommandEpoch(now: 2)
        #expect(second != first && second > 0)
        let later = try await db.queueCommand(
            NodeCommandRow(nodeId: "n1", instanceId: "i9", kind: "start", payload: nil, createdAt: 2)
        )
        #expect(later.epoch == second)
        let laterID = try #require(later.id)

        // A mark within the first epoch's history acknowledges through it.
        var applied = try await db.acknowledgeApplied(epoch: first, id: ids[1], nodeID: "n1", now: 3)
        #expect(applied.through == ids[1] && !applied.diverged)
        #expect(try await db.pendingCommands(nodeID: "n1").map(\.id) == [ids[2], laterID])
        // A mark beyond what the first epoch issued here: the database went back. Only the
        // shared part counts, and the second epoch's command stays pending.
        applied = try await db.acknowledgeApplied(epoch: first, id: laterID + 5, nodeID: "n1", now: 3)
        #expect(applied.through == ids[2] && applied.diverged)
        #expect(try await db.pendingCommands(nodeID: "n1").map(\.id) == [laterID])
        // An epoch this database never began counts for nothing.
        applied = try await db.acknowledgeApplied(epoch: 12345, id: laterID, nodeID: "n1", now: 3)
        #expect(applied.through == 0 && applied.diverged)
        #expect(try await db.pendingCommands(nodeID: "n1").map(\.id) == [laterID])
        // The current epoch's mark reaches its last id.
        applied = try await db.acknowledgeApplied(epoch: second, id: laterID, nodeID: "n1", now: 3)
        #expect(applied.through == laterID && !applied.diverged)
        #expect(try await db.pendingCommands(nodeID: "n1").isEmpty)
    }
}
