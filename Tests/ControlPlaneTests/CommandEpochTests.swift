import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol

/// Commands reach nodes after the control plane's database is restored from a backup
/// (issue 12): ids go back with the file, so a node's "already applied" mark must not
/// swallow the restored database's new commands.
@Suite struct CommandEpochTests {
    @Test func aNodeThatAppliedCommandsLostInARestoreStillGetsTheNewOnes() async throws {
        var cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "veteran")
        let backup = TestPaths.temporaryDirectory("backup").appendingPathComponent("berth.sqlite").path
        try await cp.database.backup(to: backup)

        // The node applies commands 1 and 2 of this history and keeps that mark on disk.
        let stateFile = TestPaths.temporaryDirectory("agent").appendingPathComponent("applied-command")
        var agent = cp.startAgent(enrolled, name: "veteran") { $0.stateFile = stateFile }
        var gateway = try await cp.gatewayClient()
        var events = cp.controlPlane.events.subscribe()
        let before: Set<String> = [try await gateway.startOne(), try await gateway.startOne()]
        try await events.instances(before, reach: .started, timeout: 30)
        await agent.stop()
        await gateway.stop()
        await cp.stop()

        // The operator restores the backup taken before those commands.
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: cp.directory.databasePath + suffix)
        }
        try FileManager.default.copyItem(atPath: backup, toPath: cp.directory.databasePath)
        cp = try await TestControlPlane.start(directory: cp.directory, port: cp.port)
        gateway = try await cp.gatewayClient()
        events = cp.controlPlane.events.subscribe()
        // Queued while the node is away: command id 1 again, in the restored history.
        let after = try await gateway.startOne()

        agent = cp.startAgent(enrolled, name: "veteran") { $0.stateFile = stateFile }
        try await events.instances([after], reach: .started, timeout: 30)
        #expect(cp.logs.contains("restored from a backup?", enrolled.nodeID))
        await agent.stop()
        await gateway.stop()
        await cp.stop()
    }

    @Test(arguments: StorageEngine.allCases)
    func aRestartedControlPlaneTrustsTheNodesMarkAndKeepsSending(engine: StorageEngine) async throws {
        // Without a restore the node's mark is within the database's history: no warning,
        // and the new epoch's commands reach the node. On PostgreSQL too, where the ids the
        // fleet numbers must move the identity sequence for the next epoch to begin above them.
        var cp = try await TestControlPlane.start(store: try await TestStore(engine))
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "steady")
        let agent = cp.startAgent(enrolled, name: "steady")
        let gateway = try await cp.gatewayClient()
        let events = cp.controlPlane.events.subscribe()
        let first = try await gateway.startOne()
        try await events.instances([first], reach: .started, timeout: 30)
        await gateway.stop()
        cp = try await cp.restart()
        let later = cp.controlPlane.events.subscribe()
        let client = try await cp.gatewayClient()
        // A command of the new epoch after the node's mark of the old one is applied.
        let second = try await client.startOne()
        try await later.instances([second], reach: .started, timeout: 30)
        #expect(!cp.logs.contains("restored from a backup?"))
        await agent.stop()
        await client.stop()
        await cp.stop()
    }
}
