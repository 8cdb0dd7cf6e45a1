import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol

/// The start request's optional VM fields: accepted as documented, validated, kept with
/// the instance and carried to the node.
@Suite struct StartFieldsHTTPTests {
    @Test func everyDocumentedStartFieldIsAcceptedAndReachesTheNode() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        var driver = SimulatedDriver.Configuration.fast
        driver.usbDevices = [USBDevice(name: "iphone-1", id: "serial-1")]
        let node = cp.startAgent(try await cp.enroll(name: "mini"), name: "mini", driver: driver)
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let events = cp.controlPlane.events.subscribe()
        let script = Data("echo hello\n".utf8).base64EncodedString()
        let body = """
            {"vmid": "\(TestTemplates.linux)", "tag": "ci", "name": "build", "external_id": "job-9", "count": 1,
             "node_id": "\(node.nodeID)", "priority": 5, "vcpu": 3, "vram": 6144, "metadata": {"a": true},
             "startup_script": "\(script)", "startup_script_condition": 1, "script_monitoring": true,
             "script_timeout": 30, "script_fail_handler": 2, "name_template": "$template_name-$node_name",
             "usb_device": "iphone-1", "mac_address": "AA:BB:CC:00:11:22", "vlan_tag": "42",
             "video_controller": "pg", "hvapic": "forceOff", "csr_active_config": "forceOn",
             "network_local": "forceOn", "hw_serial": "C02XYZ", "hw_uuid": "1234", "network_mode": "bridge",
             "port_forwarding_override": [{"host_port": "8080", "name": "web", "guest_port": "80"}, {"name": "vnc", "guest_port": "5900"}],
             "disk": {"size": "256G", "skip_container_resize": true}, "vnc_password": "secret"}
            """
        let started = try await gateway.http.send("POST", "/api/v1/vm", body: body)
        #expect(started.status == 200, "\(started.text)")
        let id = try #require((started.json["body"] as? [String])?.first)
        try await events.instances([id], reach: .started)

        let vm = try #require(try await gateway.http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any])
        #expect(vm["mac_address"] as? String == "AA:BB:CC:00:11:22")
        #expect(vm["vlan"] as? String == "42")
        #expect(vm["usb_device"] as? String == "iphone-1")
        #expect(vm["tag"] as? String == "ci")
        let info = try #require(vm["vminfo"] as? [String: Any])
        #expect(info["name"] as? String == "mgmtManaged-ubuntu-22.04-mini")
        #expect(info["cpu_cores"] as? Int == 3)
        let rules = try #require(info["port_forwarding"] as? [[String: Any]])
        #expect(rules.map { $0["name"] as? String } == ["web", "vnc"])
        #expect(rules.first?["host_port"] as? Int == 8080)
        #expect(rules.first?["guest_port"] as? Int == 80)
        #expect((rules.last?["host_port"] as? Int ?? 0) > 0)

        // The stored options survive with the instance (the node gets them in its start command).
        let row = try #require(try await cp.database.instance(id: id))
        let options = try StartOptions(bytes: try #require(row.startOptions))
        #expect(options.startupScript == Array("echo hello\n".utf8))
        #expect(options.scriptTimeout == 30 && options.scriptFailHandler == 2 && options.scriptMonitoring)
        #expect(options.diskSize == "256G" && options.diskSkipContainerResize)
        #expect(row.usbDeviceId == "serial-1")
        await node.stop()
        await gateway.stop()
        await cp.stop()
    }

    @Test func invalidStartFieldsAreRefusedWithAClearMessage() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp)
        let vmid = TestTemplates.linux
        let cases: [(String, String)] = [
            (#""startup_script": "***""#, "startup_script"),
            (#""startup_script_condition": 3"#, "startup_script_condition"),
            (#""script_timeout": 0"#, "script_timeout"),
            (#""script_fail_handler": 7"#, "script_fail_handler"),
            (#""mac_address": "aa:bb:cc:00:11:22""#, "mac_address"),
            (#""video_controller": "vga""#, "video_controller"),
            (#""hvapic": "on""#, "hvapic"),
            (#""port_forwarding_override": [{"name": "web"}]"#, "guest_port"),
            (#""port_forwarding_override": [{"guest_port": 80, "protocol": "sctp"}]"#, "protocol"),
            (#""disk": {"size": "huge"}"#, "disk.size"),
            (#""script_monitoring": "maybe""#, "script_monitoring"),
        ]
        for (field, name) in cases {
            let reply = try await gateway.http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(vmid)", \#(field)}"#)
            #expect(reply.failedOnItsMerits, "\(field): \(reply.text)")
            #expect(reply.json["status"] as? String == "FAIL")
            #expect((reply.json["message"] as? String)?.contains(name) == true, "\(field): \(reply.text)")
        }
        #expect(try await cp.database.instances().isEmpty)
        await gateway.stop()
        await cp.stop()
    }
}
