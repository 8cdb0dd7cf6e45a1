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
}
