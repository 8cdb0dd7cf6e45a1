import Foundation
import BerthTestSupport
import Persistence
import Testing

/// The node command outbox stays bounded and its ids only grow (issue 12).
@Suite struct CommandOutboxTests {

    @Test(arguments: StorageEngine.allCases) func acknowledgedCommandsArePurgedAndIdsAreNeverReused(engine: StorageEngine) async throws {
        let db = try await TestStore(engine).open()
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

    /// Ids the fleet numbers itself (its journal inserts them with their ids) move the high
    /// mark too: a command queued afterwards, and the next start's epoch, begin above them.
    /// (On PostgreSQL an explicit id does not move an identity sequence by itself.)
    @Test(arguments: StorageEngine.allCases) func idsTheFleetNumberedAreNeverIssuedAgain(engine: StorageEngine) async throws {
        let store = try await TestStore(engine)
        let db = try await store.open()
        try await db.saveNode(NodeRow(id: "n1", name: "n1", createdAt: 1))
        let epoch = try await db.beginCommandEpoch(now: 1)
        var numbered = NodeCommandRow(nodeId: "n1", instanceId: "i1", kind: "start", payload: nil, createdAt: 1)
        numbered.id = 40
        numbered.epoch = epoch
        try await db.commit([.command(numbered)])
        let queued = try await db.queueCommand(
            NodeCommandRow(nodeId: "n1", instanceId: "i2", kind: "stop", payload: nil, createdAt: 2)
        )
        #expect(queued.id == 41)
        #expect(queued.epoch == epoch)
        let reopened = try await store.open()
        #expect(try await reopened.commandHistory().lastID == 41)
        _ = try await reopened.beginCommandEpoch(now: 2)
        #expect(try await reopened.commandHistory().epochs.last?.firstID == 42)
        #expect(try await reopened.pendingCommands(nodeID: "n1").map(\.id) == [40, 41])
    }
}
