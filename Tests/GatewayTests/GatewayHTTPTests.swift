import BerthTestSupport
import ControlPlane
import Foundation
import Testing
import WireProtocol

/// The REST gateway over real HTTP on loopback, in front of a real control plane.
@Suite struct GatewayHTTPTests {
    @Test func rootTokenIsRequiredAndBothBasicFormsWork() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: "s3cret-token-123")
        let anonymous = HTTPTestClient(base: gateway.base, authorization: nil)
        let denied = try await anonymous.send("GET", "/api/v1/status")
        #expect(denied.status == 401)
        #expect(
            denied.text == #"{"message":"Authentication Required","status":"FAIL"}"#
                || denied.json["message"] as? String == "Authentication Required"
        )
        #expect(denied.json["status"] as? String == "FAIL")
        let wrong = HTTPTestClient(
            base: gateway.base,
            authorization: "Basic " + Data("root:nope-nope-nope".utf8).base64EncodedString()
        )
        #expect(try await wrong.send("GET", "/api/v1/status").status == 401)
        let emptyUser = HTTPTestClient(
            base: gateway.base,
            authorization: "Basic " + Data(":s3cret-token-123".utf8).base64EncodedString()
        )
        let viaEmptyUser = try await emptyUser.send("GET", "/api/v1/status")
        #expect(viaEmptyUser.status == 200, "\(viaEmptyUser.status) \(viaEmptyUser.text)")
        let status = try await gateway.http.send("GET", "/api/v1/status")
        #expect(status.status == 200)
        #expect((status.json["body"] as? [String: Any])?["status"] as? String == "Running")
        // Health endpoints answer without credentials.
        #expect(try await anonymous.send("GET", "/livez").status == 200)
        await gateway.stop()
        await cp.stop()
    }

    /// AUTH.md's rule: on the Anka surface a request that was understood but fails on its
    /// merits answers HTTP 200 with the FAIL envelope (the Jenkins and TeamCity SDKs throw on
    /// 400 and more before reading the body); an unknown path keeps its 404, and Berth's own
    /// `/berth/v1` API keeps fitting codes. Each kind of failure, with its exact code.
    @Test func failuresAnswerWithAnkasCodesOnTheAnkaSurfaceAndFittingOnesElsewhere() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http
        let cases: [(String, String, String?, Int, String)] = [
            // The exact message the Jenkins and TeamCity SDKs match to retry without the tag.
            ("POST", "/api/v1/vm", #"{"vmid":"\#(TestTemplates.linux)","tag":"nosuch"}"#, 200, "No such tag nosuch"),
            ("POST", "/api/v1/vm", #"{"vmid":"00000000-0000-0000-0000-000000000000"}"#, 200, "No such template"),
            ("POST", "/api/v1/vm", "not json", 200, "not valid JSON"),
            ("POST", "/api/v1/vm", "{}", 200, "vmid is required"),
            ("POST", "/api/v1/vm", #"{"vmid":"\#(TestTemplates.linux)","count":"x"}"#, 200, "count must be an integer"),
            ("POST", "/api/v1/vm", #"{"vmid":"\#(TestTemplates.linux)","priority":0}"#, 200, "priority"),
            ("DELETE", "/api/v1/vm", #"{"id":"missing"}"#, 200, "No such instance missing"),
            ("DELETE", "/api/v1/vm", "", 200, "id is required"),
            ("GET", "/api/v1/vm?id=missing", nil, 200, "No such instance"),
            ("DELETE", "/api/v1/node", #"{"node_id":"missing"}"#, 200, "No such node"),
            ("POST", "/api/v1/group", #"{"name":"twice"}"#, 200, ""),
            ("POST", "/api/v1/group", #"{"name":"twice"}"#, 200, "twice"),
            ("GET", "/admin/api/v1/permission/group/nobody", nil, 200, "nobody"),
            ("GET", "/api/v1/nowhere", nil, 404, "No such endpoint"),
            ("GET", "/admin/nowhere", nil, 404, "No such endpoint"),
            ("GET", "/berth/v1/vm/logs?id=missing", nil, 404, "missing"),
            ("GET", "/berth/v1/vm/logs", nil, 400, "id"),
            ("GET", "/berth/v1/vm/wait?id=missing", nil, 404, "missing"),
        ]
        for (index, (method, path, body, status, message)) in cases.enumerated() {
            let reply = try await http.send(method, path, body: body)
            #expect(reply.status == status, "\(method) \(path): \(reply.text)")
            // The second POST of a group of the same name is the conflict; the first succeeds.
            let expected = index == 10 ? "OK" : "FAIL"
            #expect(reply.json["status"] as? String == expected, "\(method) \(path): \(reply.text)")
            #expect(message.isEmpty || (reply.json["message"] as? String)?.contains(message) == true, "\(method) \(path): \(reply.text)")
            if message.hasPrefix("No such tag") {
                // The SDKs' fallback compares the whole message.
                #expect(reply.json["message"] as? String == message)
            }
            #expect(reply.contentType.hasPrefix("application/json"))
        }
        await gateway.stop()
        await cp.stop()
    }

    @Test func startListShowAndTerminateWithAnkaShapes() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let node = cp.startAgent(try await cp.enroll(name: "mini"), name: "mini")
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let events = cp.controlPlane.events.subscribe()
        let started = try await gateway.http.send(
            "POST",
            "/api/v1/vm",
            body:
                #"{"vmid": "\#(TestTemplates.linux)", "tag": "base", "external_id": "job-7", "metadata": {"team": "ios", "n": 3}}"#
        )
        #expect(started.status == 200)
        let id = try #require((started.json["body"] as? [String])?.first)
        try await events.instances([id], reach: .started)

        let show = try await gateway.http.send("GET", "/api/v1/vm?id=\(id)")
        let vm = try #require(show.json["body"] as? [String: Any])
        #expect(vm["instance_id"] as? String == id)
        #expect(vm["instance_state"] as? String == "Started")
        #expect(vm["vmid"] as? String == TestTemplates.linux)
        #expect(vm["tag"] as? String == "base")
        #expect(vm["external_id"] as? String == "job-7")
        #expect(vm["node_id"] as? String == node.nodeID)
        #expect((vm["metadata"] as? [String: Any])?["team"] as? String == "ios")
        for key in ["group_id", "anka_registry", "ts", "cr_time", "progress", "vlan"] {
            #expect(vm[key] != nil, "\(key)")
        }
        #expect(vm["message"] == nil)
        let info = try #require(vm["vminfo"] as? [String: Any])
        #expect(info["status"] as? String == "running")
        #expect(info["ram"] as? String == "4G")
        let forwarding = try #require(info["port_forwarding"] as? [[String: Any]])
        #expect(forwarding.first?["name"] as? String == "ssh")
        #expect(forwarding.first?["guest_port"] as? Int == 22)

        let list = try await gateway.http.send("GET", "/api/v1/vm")
        let entry = try #require((list.json["body"] as? [[String: Any]])?.first)
        #expect(entry["instance_id"] as? String == id)
        #expect((entry["vm"] as? [String: Any])?["instance_state"] as? String == "Started")

        let nodes = try await gateway.http.send("GET", "/api/v1/node?id=\(node.nodeID)")
        let listed = try #require(nodes.json["body"] as? [[String: Any]])
        #expect(listed.count == 1)
        #expect(listed[0]["state"] as? String == "Active")
        #expect(listed[0]["vm_count"] as? Int == 1)

        // DELETE with a JSON body and no JSON content type, as the curl examples send it.
        let terminated = try await gateway.http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(id)"}"#)
        #expect(terminated.status == 200)
        #expect(terminated.json["status"] as? String == "OK")
        try await events.instances([id], reach: .terminated)
        await gateway.stop()
        await node.stop()
        await cp.stop()
    }
}

extension GatewayHTTPTests {
    @Test func updateChangesNameExternalIDAndMetadata() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp)
        let started = try await gateway.http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)"}"#)
        let id = try #require((started.json["body"] as? [String])?.first)
        // As in the reference's example (which also sends a JSON Content-Type).
        let reply = try await gateway.http.send(
            "PUT",
            "/api/v1/vm?id=\(id)",
            body: #"{"name": "My VM name", "external_id": "ext-9", "metadata": {"a": 1, "b": true}}"#,
            headers: ["Content-Type": "application/json"]
        )
        #expect(reply.status == 200)
        #expect(reply.json["status"] as? String == "OK")
        let vm = try #require(try await gateway.http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any])
        #expect(vm["name"] as? String == "My VM name")
        #expect(vm["external_id"] as? String == "ext-9")
        #expect((vm["metadata"] as? [String: Any])?["b"] as? Bool == true)
        // Only named fields change.
        _ = try await gateway.http.send("PUT", "/api/v1/vm?id=\(id)", body: #"{"name": "renamed"}"#)
        let again = try #require(
            try await gateway.http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any]
        )
        #expect(again["name"] as? String == "renamed")
        #expect(again["external_id"] as? String == "ext-9")
        let missing = try await gateway.http.send("PUT", "/api/v1/vm?id=nope", body: #"{"name": "x"}"#)
        #expect(missing.failedOnItsMerits)
        #expect(missing.json["status"] as? String == "FAIL")
        await gateway.stop()
        await cp.stop()
    }

    @Test func restartAcceptsIdOrInstanceIdAndChangesTheStartDate() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let node = cp.startAgent(try await cp.enroll(name: "mini"), name: "mini")
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let events = cp.controlPlane.events.subscribe()
        let started = try await gateway.http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)"}"#)
        let id = try #require((started.json["body"] as? [String])?.first)
        let first = try await events.instance(where: { $0.instanceID == id && $0.state == .started })
        let firstStart = try #require(first.vmInfo?.startDateMicros)

        // The reference's curl example: no method flag, a JSON body with instance_id.
        let reply = try await gateway.http.send("POST", "/api/v1/rpc/vm/restart", body: #"{"instance_id":"\#(id)"}"#)
        #expect(reply.status == 200)
        #expect(reply.text.contains(#""status":"OK""#))
        let restarted = try await events.instance(where: {
            $0.instanceID == id && $0.state == .started && ($0.vmInfo?.startDateMicros ?? 0) > firstStart
        })
        #expect(restarted.vmInfo?.status == "running")
        let shown = try #require(
            try await gateway.http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any]
        )
        #expect((shown["vminfo"] as? [String: Any])?["start_date"] as? String != nil)

        #expect(try await gateway.http.send("PUT", "/api/v1/rpc/vm/restart", body: #"{"id":"\#(id)"}"#).status == 200)
        #expect(try await gateway.http.send("POST", "/api/v1/rpc/vm/restart", body: #"{"id":"nope"}"#).failedOnItsMerits)
        #expect(try await gateway.http.send("POST", "/api/v1/rpc/vm/restart", body: "{}").failedOnItsMerits)
        // A terminated instance cannot restart.
        _ = try await gateway.http.send("DELETE", "/api/v1/vm", body: #"{"id":"\#(id)"}"#)
        try await events.instances([id], reach: .terminated)
        let conflict = try await gateway.http.send("POST", "/api/v1/rpc/vm/restart", body: #"{"id":"\#(id)"}"#)
        #expect(conflict.failedOnItsMerits)
        #expect((conflict.json["message"] as? String)?.contains("Terminated") == true)
        await gateway.stop()
        await node.stop()
        await cp.stop()
    }
}

extension GatewayHTTPTests {
    @Test func numbersZeroAndOneAreIntegersNotBooleans() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp)
        let one = try await gateway.http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(TestTemplates.linux)", "count": 1, "priority": 1}"#
        )
        #expect(one.status == 200, "\(one.text)")
        #expect((one.json["body"] as? [String])?.count == 1)
        let boolean = try await gateway.http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(TestTemplates.linux)", "count": true}"#
        )
        #expect(boolean.failedOnItsMerits)
        #expect((boolean.json["message"] as? String)?.contains("count must be an integer") == true)
        await gateway.stop()
        await cp.stop()
    }

    @Test func nodeConfigSetsNameCapacityAndDrainMode() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "mini")
        var node = cp.startAgent(enrolled, name: "mini")
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let events = cp.controlPlane.events.subscribe()

        // The reference's examples, as written (one with a JSON Content-Type, one without).
        let renamed = try await gateway.http.send(
            "POST",
            "/api/v1/node/config",
            body: #"{"node_id": "\#(enrolled.nodeID)", "name": "MacPro1", "max_vm_count": 6}"#,
            headers: ["Content-Type": "application/json"]
        )
        #expect(renamed.status == 200)
        #expect(
            try await gateway.http.send(
                "POST",
                "/api/v1/node/config",
                body: #"{"node_id": "\#(enrolled.nodeID)", "drain_mode": true}"#
            ).status == 200
        )
        var listed = try #require(
            (try await gateway.http.send("GET", "/api/v1/node?id=\(enrolled.nodeID)").json["body"] as? [[String: Any]])?
                .first
        )
        #expect(listed["node_name"] as? String == "MacPro1")
        #expect(listed["capacity"] as? Int == 6)
        #expect(listed["drain_mode"] as? Bool == true)

        // A draining node takes no new instance, and says so.
        let waiting = try await gateway.http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)"}"#)
        let id = try #require((waiting.json["body"] as? [String])?.first)
        let reason = try await withTimeout(10, "a drain wait reason") {
            while true {
                let vm = try await gateway.http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any]
                if let reason = vm?["wait_reason"] as? String, reason.contains("drain") { return reason }
            }
        }
        #expect(reason.contains("1 in drain mode"))
        #expect(
            try await gateway.http.send(
                "POST",
                "/api/v1/node/config",
                body: #"{"node_id": "\#(enrolled.nodeID)", "drain_mode": false}"#
            ).status == 200
        )
        try await events.instances([id], reach: .started)

        // The operator's capacity survives the node reconnecting with its own figure.
        await node.stop()
        node = cp.startAgent(enrolled, name: "mini")
        try await node.waitConnected()
        listed = try #require(
            (try await gateway.http.send("GET", "/api/v1/node?id=\(enrolled.nodeID)").json["body"] as? [[String: Any]])?
                .first
        )
        #expect(listed["capacity"] as? Int == 6)

        // Failures on their merits: HTTP 200 with FAIL on the Anka surface.
        for body in [
            #"{"node_id": "\#(enrolled.nodeID)", "capacity_mode": "lots"}"#,
            #"{"node_id": "\#(enrolled.nodeID)", "max_vm_count": -1}"#,
            #"{"node_id": "nope", "name": "x"}"#,
            #"{"name": "x"}"#,
        ] {
            let reply = try await gateway.http.send("POST", "/api/v1/node/config", body: body)
            #expect(reply.failedOnItsMerits, "\(body): \(reply.text)")
        }
        await gateway.stop()
        await node.stop()
        await cp.stop()
    }
}
