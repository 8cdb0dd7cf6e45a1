import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol

/// Nodes report VLANs and USB devices; `/api/v1/vlan` and `/api/v1/usb` show them, and
/// `usb_device` on a start claims one device until the instance ends.
@Suite struct USBVLANHTTPTests {
    @Test func usbDevicesAreClaimedByStartsAndListedAsAnkaDoes() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        var withPhones = SimulatedDriver.Configuration.fast
        withPhones.vlans = ["55", "12"]
        withPhones.usbDevices = [USBDevice(name: "iphone7", id: "A"), USBDevice(name: "iphone7", id: "B")]
        var plain = SimulatedDriver.Configuration.fast
        plain.vlans = ["12", "100"]
        plain.maxVMCount = 4
        let phoneNode = cp.startAgent(try await cp.enroll(name: "phones"), name: "phones", driver: withPhones)
        let plainNode = cp.startAgent(try await cp.enroll(name: "plain"), name: "plain", driver: plain)
        for node in [phoneNode, plainNode] { try await node.waitConnected() }
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http

        #expect(try await http.send("GET", "/api/v1/vlan").json["body"] as? [String] == ["12", "55", "100"])
        let idle = try #require(try await http.send("GET", "/api/v1/usb").json["body"] as? [String: [String: Int]])
        #expect(idle == ["iphone7": ["available": 2, "busy": 0]])

        let events = cp.controlPlane.events.subscribe()
        let started = try await http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(TestTemplates.linux)", "usb_device": "iphone7", "count": 3}"#
        )
        let ids = try #require(started.json["body"] as? [String])
        // Two get a phone each, on the node that has them; the third waits and says why.
        var placed: [String] = []
        let third = ids[2]
        _ = try await events.instance(where: { $0.instanceID == third && $0.waitReason.contains("iphone7") })
        for id in ids.prefix(2) {
            let vm = try await events.instance(where: { $0.instanceID == id && $0.state == .started })
            #expect(vm.nodeID == phoneNode.nodeID)
            placed.append(id)
        }
        let busy = try #require(try await http.send("GET", "/api/v1/usb").json["body"] as? [String: [String: Int]])
        #expect(busy == ["iphone7": ["available": 0, "busy": 2]])
        let claimed = try await cp.database.instances().filter { placed.contains($0.id) }.map(\.usbDeviceId)
        #expect(Set(claimed) == ["A", "B"])
        let nodes = try #require(
            try await http.send("GET", "/api/v1/node?id=\(phoneNode.nodeID)").json["body"] as? [[String: Any]]
        )
        let devices = try #require(nodes.first?["usb_devices"] as? [[String: Any]])
        #expect(devices.allSatisfy { $0["busy"] as? Bool == true })

        // Ending one frees its device for the waiting instance.
        #expect(try await http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(placed[0])"}"#).status == 200)
        let moved = try await events.instance(where: { $0.instanceID == third && $0.state == .started })
        #expect(moved.nodeID == phoneNode.nodeID)
        #expect(moved.usbDevice == "iphone7")
        for node in [phoneNode, plainNode] { await node.stop() }
        await gateway.stop()
        await cp.stop()
    }
}
