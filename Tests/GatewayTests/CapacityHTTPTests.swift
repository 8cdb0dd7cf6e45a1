import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol

/// Capacity modes and node health over real HTTP, with a simulated node.
@Suite struct CapacityHTTPTests {
    @Test func resourceModePlacesByVCPUAndRAMWithOverrides() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        // 8 cores, 16 GB, but only 2 VMs in number mode.
        let node = cp.startAgent(try await cp.enroll(name: "big"), name: "big")
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http
        // Resource mode, 6 vCPU and 12 GB schedulable.
        let configured = try await http.send(
            "POST",
            "/api/v1/node/config",
            body: #"{"node_id":"\#(node.nodeID)","capacity_mode":"resource","vcpu_override":6,"ram_override":12}"#
        )
        #expect(configured.status == 200, "\(configured.text)")
        let listed = try #require(try await http.send("GET", "/api/v1/node").json["body"] as? [[String: Any]])
        #expect(listed.first?["capacity_mode"] as? String == "resource")
        #expect(listed.first?["vcpu_override"] as? Int == 6)

        let events = cp.controlPlane.events.subscribe()
        // Three 2-vCPU/2-GB VMs fit (6 vCPU) although the VM count limit is 2.
        let small = try await http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid":"\#(TestTemplates.linux)","count":3,"vcpu":2,"vram":2048}"#
        )
        let smallIDs = Set(try #require(small.json["body"] as? [String]))
        try await events.instances(smallIDs, reach: .started)
        // A fourth waits, and says which resource is short.
        let more = try await http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid":"\#(TestTemplates.linux)","vcpu":2,"vram":2048}"#
        )
        let waitingID = try #require((more.json["body"] as? [String])?.first)
        let waiting = try await events.instance(where: {
            $0.instanceID == waitingID && $0.waitReason.contains("capacity")
        })
        #expect(waiting.state == .scheduling)
        // Freeing one places it.
        let first = try #require(smallIDs.first)
        #expect(try await http.send("DELETE", "/api/v1/vm", body: #"{"id":"\#(first)"}"#).status == 200)
        _ = try await events.instance(where: { $0.instanceID == waitingID && $0.state == .started })
        await node.stop()
        await gateway.stop()
        await cp.stop()
    }

    @Test func aFullNodeWithNoRunningVMIsUnhealthy() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        var driver = SimulatedDriver.Configuration.fast
        driver.maxVMCount = 1
        driver.pullTime = .seconds(60)  // the only VM stays Pulling
        let node = cp.startAgent(try await cp.enroll(name: "stuck"), name: "stuck", driver: driver)
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http
        let events = cp.controlPlane.events.subscribe()
        let started = try await http.send("POST", "/api/v1/vm", body: #"{"vmid":"\#(TestTemplates.linux)"}"#)
        let id = try #require((started.json["body"] as? [String])?.first)
        _ = try await events.instance(where: { $0.instanceID == id && $0.state == .pulling })
        let listed = try #require(try await http.send("GET", "/api/v1/node").json["body"] as? [[String: Any]])
        #expect(listed.first?["state"] as? String == "Unhealthy")
        // Terminating it makes the node Active again.
        #expect(try await http.send("DELETE", "/api/v1/vm", body: #"{"id":"\#(id)"}"#).status == 200)
        _ = try await events.instance(where: { $0.instanceID == id && $0.state == .terminated })
        let after = try #require(try await http.send("GET", "/api/v1/node").json["body"] as? [[String: Any]])
        #expect(after.first?["state"] as? String == "Active")
        await node.stop()
        await gateway.stop()
        await cp.stop()
    }
}
