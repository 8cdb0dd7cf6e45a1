import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol

/// Restart policies over the REST API, with real VM processes where the rule is about one
/// crashing (docs/extensions.md).
@Suite struct RestartPolicyTests {
    /// A control plane whose restart backoff is short, a gateway, and an agent on `driver`.
    struct Fleet {
        let cp: TestControlPlane
        let gateway: TestGateway
        let agent: TestAgent
        let enrolled: EnrolledNode
        let events: AsyncStream<FleetEvent>

        func start(_ fields: String = "") async throws -> String {
            try await gateway.http.startInstance(fields)
        }

        func vm(_ id: String) async throws -> [String: Any] {
            try await gateway.http.instance(id)
        }

        func stop() async {
            await agent.stop()
            await gateway.stop()
            await cp.stop()
        }
    }

    static func fleet(
        using driver: any InstanceDriver,
        configure: (inout ControlPlaneConfiguration) -> Void = { _ in }
    ) async throws -> Fleet {
        let cp = try await TestControlPlane.start {
            $0.restartBackoff = 0.05
            $0.restartBackoffMaximum = 0.2
            configure(&$0)
        }
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "node-1")
        let agent = cp.startAgent(enrolled, name: "node-1", using: driver)
        try await agent.waitConnected()
        let gateway = try await TestGateway.start(cp)
        return Fleet(
            cp: cp,
            gateway: gateway,
            agent: agent,
            enrolled: enrolled,
            events: cp.controlPlane.events.subscribe()
        )
    }

    static func processDriver(_ vmCommand: String) -> ProcessDriver {
        var configuration = ProcessDriver.Configuration(root: TestPaths.temporaryDirectory("process-driver"))
        configuration.vmCommand = vmCommand
        return ProcessDriver(configuration: configuration)
    }

    @Test func onFailureRestartsACrashedProcessVMAndStopsAtTheLimit() async throws {
        // Each run of the VM lives a moment, then crashes with exit code 3.
        let driver = Self.processDriver("sleep 0.3; exit 3")
        let fleet = try await Self.fleet(using: driver)
        let id = try await fleet.start(#""restart_policy": "on_failure", "max_restarts": 2"#)
        let last = try await fleet.events.instance(timeout: 30, "the restart limit") { record in
            guard record.instanceID == id else { return false }
            return record.stopReason == "restart_limit"
        }
        #expect(last.state == .error)
        #expect(last.restartCount == 2)
        let vm = try await fleet.vm(id)
        #expect(vm["instance_state"] as? String == "Error")
        #expect(vm["restart_policy"] as? String == "on_failure")
        #expect(vm["restart_count"] as? Int == 2)
        #expect(vm["max_restarts"] as? Int == 2)
        #expect(vm["stop_reason"] as? String == "restart_limit")
        #expect(vm["stopped_by"] as? String == "restart policy on_failure")
        #expect((vm["message"] as? String)?.contains("exited with code 3") == true, "\(vm)")
        #expect(vm["restart_at"] == nil)
        // Three runs of the process: the first and two restarts, each logged by the agent.
        let log = try String(contentsOf: driver.logURL(instanceID: id), encoding: .utf8)
        let runs = log.components(separatedBy: "the VM exited with code 3").count - 1
        #expect(runs == 3, "\(log)")
        // The history shows each restart.
        let history = try await fleet.cp.controlPlane.database.transitions(instanceID: id)
        #expect(history.filter { $0.state == "Started" }.count == 3)
        await fleet.stop()
    }

    @Test func onFailureLeavesACleanExitAloneAndAlwaysRestartsIt() async throws {
        let driver = Self.processDriver("sleep 0.3; exit 0")
        let fleet = try await Self.fleet(using: driver)
        let onFailure = try await fleet.start(#""restart_policy": "on_failure""#)
        let always = try await fleet.start(#""restart_policy": "always", "max_restarts": 1"#)

        let stopped = try await fleet.events.instance(timeout: 30, "a clean exit") {
            $0.instanceID == onFailure && $0.state == .stopped
        }
        #expect(stopped.stopReason == "driver_error")
        #expect(stopped.restartAtMicros == 0)
        let limit = try await fleet.events.instance(timeout: 30, "always's limit") {
            $0.instanceID == always && $0.stopReason == "restart_limit"
        }
        #expect(limit.state == .stopped)
        #expect(limit.restartCount == 1)
        // on_failure never restarted the clean exit.
        let vm = try await fleet.vm(onFailure)
        #expect(vm["restart_count"] as? Int == 0)
        #expect(vm["instance_state"] as? String == "Stopped")
        #expect(vm["max_restarts"] as? Int == RestartPolicy.defaultMaxRestarts)
        await fleet.stop()
    }

    @Test func withoutAPolicyACrashIsOnlyReported() async throws {
        let driver = Self.processDriver("sleep 0.2; exit 7")
        let fleet = try await Self.fleet(using: driver)
        let id = try await fleet.start(#""name": "plain""#)
        let crashed = try await fleet.events.instance(timeout: 30, "the crash") {
            $0.instanceID == id && $0.state == .error
        }
        #expect(crashed.stopReason == "driver_error")
        #expect(crashed.stoppedBy == "node \(fleet.agent.nodeID)")
        let vm = try await fleet.vm(id)
        #expect(vm["restart_policy"] == nil)  // Anka's shape
        #expect((vm["message"] as? String)?.contains("exited with code 7") == true)
        // A terminate still ends it cleanly, and the first cause stays.
        _ = try await fleet.gateway.http.send("DELETE", "/api/v1/vm?id=\(id)")
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .terminated })
        #expect(try await fleet.vm(id)["stop_reason"] as? String == "driver_error")
        await fleet.stop()
    }

    @Test func badPoliciesAreRefused() async throws {
        let fleet = try await Self.fleet(using: SimulatedDriver(configuration: .fast))
        for (fields, reason) in [
            (#""restart_policy": "sometimes""#, "restart_policy must be"),
            (#""restart_policy": "always", "max_restarts": -1"#, "max_restarts must be"),
            (#""restart_policy": "always", "max_restarts": 1001"#, "max_restarts must be"),
        ] {
            let reply = try await fleet.gateway.http.send(
                "POST",
                "/api/v1/vm",
                body: #"{"vmid": "\#(TestTemplates.linux)", \#(fields)}"#
            )
            #expect(reply.failedOnItsMerits, "\(fields): \(reply.text)")
            #expect((reply.json["message"] as? String)?.contains(reason) == true, "\(fields): \(reply.text)")
        }
        await fleet.stop()
    }

    @Test func aPendingRestartHappensAfterTheControlPlaneRestarts() async throws {
        let driver = SimulatedDriver(configuration: .fast)
        // A minute's backoff: the restart is still pending when the control plane stops.
        let slow: (inout ControlPlaneConfiguration) -> Void = {
            $0.restartBackoff = 60
            $0.restartBackoffMaximum = 60
        }
        let fleet = try await Self.fleet(using: driver, configure: slow)
        let id = try await fleet.start(#""restart_policy": "always""#)
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .started })
        await driver.endOnItsOwn(instanceID: id, code: 0)
        let pending = try await fleet.events.instance(where: { $0.instanceID == id && $0.restartAtMicros > 0 })
        #expect(pending.state == .stopped)
        await fleet.gateway.stop()
        await fleet.cp.stop()

        // While it is down, the restart falls due (its stored time moved into the past).
        let database = try fleet.cp.directory.openDatabase()
        try await database.engine.write { db in
            try db.execute("UPDATE instances SET restart_at = 1 WHERE id = ?", [.text(id)])
        }
        let restarted = try await TestControlPlane.start(directory: fleet.cp.directory, port: fleet.cp.port, configure: slow)
        let gateway = try await TestGateway.start(restarted)
        // Wait-for-state reads the instance first, so a restart made before the wait counts.
        let waited = try await gateway.http.send("GET", "/berth/v1/vm/wait?id=\(id)&state=Started&timeout=60")
        #expect(waited.json["status"] as? String == "OK", "\(waited.text)")
        let vm = try await gateway.http.instance(id)
        #expect(vm["instance_state"] as? String == "Started")
        #expect(vm["restart_count"] as? Int == 1)
        #expect(vm["restart_at"] == nil)
        #expect(vm["stop_reason"] == nil)
        await fleet.agent.stop()
        await gateway.stop()
        await restarted.stop()
    }

    @Test func aNodeLostWhileItsVMRunsIsAFailureAndTheInstanceIsPlacedAgain() async throws {
        let firstDriver = SimulatedDriver(configuration: .fast)
        let fleet = try await Self.fleet(using: firstDriver)
        let id = try await fleet.start(#""restart_policy": "on_failure""#)
        let plain = try await fleet.start(#""name": "no policy""#)
        try await fleet.events.instances([id, plain], reach: .started)
        let second = fleet.cp.startAgent(try await fleet.cp.enroll(name: "node-2"), name: "node-2")
        try await second.waitConnected()

        await fleet.agent.stop()  // node-1 goes away (saying goodbye: Offline at once)
        let moved = try await fleet.events.instance(timeout: 20, "placed again on node-2") {
            $0.instanceID == id && $0.state == .started
        }
        #expect(moved.nodeID == second.nodeID)
        #expect(moved.restartCount == 1)
        #expect(moved.stopReason.isEmpty)
        // Without a policy the instance stays where it was, Started, until its node is back.
        let vm = try await fleet.vm(plain)
        #expect(vm["node_id"] as? String == fleet.agent.nodeID)
        let history = try await fleet.cp.controlPlane.database.transitions(instanceID: id)
        #expect(history.contains { $0.state == "Scheduling" && $0.message.contains("was lost") })

        // node-1 comes back still running its copy: the copy is terminated (its end is
        // reported and ignored), and the instance stays on node-2.
        #expect(await firstDriver.instances().contains { $0.instanceID == id })
        let back = fleet.cp.startAgent(fleet.enrolled, name: "node-1", using: firstDriver)
        try await back.waitConnected()
        try await withTimeout(10, "node-1's copy reported ended") {
            await fleet.cp.logs.waitForLine("node reported an instance it does not run", id)
        }
        #expect(await !firstDriver.instances().contains { $0.instanceID == id })
        #expect(try await fleet.vm(id)["node_id"] as? String == second.nodeID)
        #expect(try await fleet.vm(id)["instance_state"] as? String == "Started")
        await second.stop()
        await back.stop()
        await fleet.gateway.stop()
        await fleet.cp.stop()
    }
}
