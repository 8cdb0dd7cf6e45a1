import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol

/// `GET /berth/v1/vm/metrics`: figures from the node's heartbeats, as JSON and as
/// Prometheus text (docs/extensions.md).
@Suite struct InstanceMetricsHTTPTests {
    /// Asks until the node's heartbeat has carried the instance's figures. Heartbeats come
    /// every second in tests and nothing announces one (they are handled on the event loop
    /// and kept, not published), so this asks ten times a second until the answer has them:
    /// a condition, bounded by the deadline, not a guess at how long to wait. (Asking in a
    /// tight loop instead took a core from the rest of the suite.)
    static func reportedMetrics(_ gateway: TestGateway, id: String) async throws -> [String: Any] {
        let reply = try await withTimeout(15, "a heartbeat with the figures of \(id)") {
            while true {
                let reply = try await gateway.http.send("GET", "/berth/v1/vm/metrics?id=\(id)")
                if (reply.json["body"] as? [String: Any])?["reported"] as? Bool == true { return reply }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return try #require(reply.json["body"] as? [String: Any])
    }

    @Test func aRunningProcessVMReportsItsMemoryAndUptime() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let driver = ProcessDriver(configuration: .init(root: TestPaths.temporaryDirectory("process-driver")))
        let agent = cp.startAgent(try await cp.enroll(name: "linux-1"), name: "linux-1", using: driver)
        try await agent.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let events = cp.controlPlane.events.subscribe()
        let reply = try await gateway.http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)"}"#)
        let id = try #require((reply.json["body"] as? [String])?.first)
        _ = try await events.instance(where: { $0.instanceID == id && $0.state == .started })

        let body = try await Self.reportedMetrics(gateway, id: id)
        #expect(body["instance_id"] as? String == id)
        #expect(body["instance_state"] as? String == "Started")
        #expect(body["node_id"] as? String == agent.nodeID)
        #expect((body["memory_bytes"] as? Int ?? 0) > 0, "\(body)")  // a real process's resident set
        #expect((body["cpu_percent"] as? Double ?? -1) >= 0)
        #expect((body["uptime_seconds"] as? Double ?? 0) > 0)
        #expect(body["restart_count"] as? Int == 0)

        // The same as Prometheus text, by parameter or by Accept header.
        for (path, headers) in [
            ("/berth/v1/vm/metrics?id=\(id)&format=prometheus", [String: String]()),
            ("/berth/v1/vm/metrics?id=\(id)", ["Accept": "text/plain;version=0.0.4"]),
        ] {
            let text = try await gateway.http.send("GET", path, headers: headers)
            #expect(text.status == 200)
            #expect(text.headers["content-type"]?.hasPrefix("text/plain") == true, "\(text.headers)")
            let labels = #"{instance_id="\#(id)",node_id="\#(agent.nodeID)"}"#
            for family in [
                "berth_instance_cpu_percent", "berth_instance_memory_bytes", "berth_instance_uptime_seconds",
                "berth_instance_restarts_total",
            ] {
                #expect(text.text.contains("# TYPE \(family) "), "\(family): \(text.text)")
                #expect(text.text.contains("\(family)\(labels) "), "\(family): \(text.text)")
            }
        }
        await agent.stop()
        await gateway.stop()
        await cp.stop()
    }

    @Test func everyInstanceIsListedAndOnlyReportedOnesHaveFigures() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp)
        // No node yet: the instance waits, and has no figures.
        let reply = try await gateway.http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)"}"#)
        let waiting = try #require((reply.json["body"] as? [String])?.first)
        let unplaced = try #require(
            try await gateway.http.send("GET", "/berth/v1/vm/metrics?id=\(waiting)").json["body"] as? [String: Any]
        )
        #expect(unplaced["reported"] as? Bool == false)
        #expect(unplaced["cpu_percent"] is NSNull)
        #expect(unplaced["uptime_seconds"] as? Double == 0)
        let none = try await gateway.http.send("GET", "/berth/v1/vm/metrics?id=\(waiting)&format=prometheus")
        #expect(!none.text.contains("berth_instance_cpu_percent{"))
        #expect(none.text.contains(#"berth_instance_restarts_total{instance_id="\#(waiting)",node_id=""} 0"#))

        // A simulated node reports steady figures: half the VM's memory (the template's
        // 4096 MB), a CPU share by VM (42 % for its first).
        let agent = cp.startAgent(try await cp.enroll(name: "node-1"), name: "node-1")
        try await agent.waitConnected()
        let body = try await Self.reportedMetrics(gateway, id: waiting)
        #expect(body["memory_bytes"] as? Int == 4096 * 1_048_576 / 2, "\(body)")
        #expect(body["cpu_percent"] as? Double == 42)

        let all = try await gateway.http.send("GET", "/berth/v1/vm/metrics")
        let list = try #require(all.json["body"] as? [[String: Any]])
        #expect(list.map { $0["instance_id"] as? String } == [waiting])

        let missing = try await gateway.http.send("GET", "/berth/v1/vm/metrics?id=no-such-instance")
        #expect(missing.json["status"] as? String == "FAIL")
        #expect((missing.json["message"] as? String)?.contains("No such instance") == true)
        let badFormat = try await gateway.http.send("GET", "/berth/v1/vm/metrics?format=xml")
        #expect(badFormat.json["status"] as? String == "FAIL")
        await agent.stop()
        await gateway.stop()
        await cp.stop()
    }
}
