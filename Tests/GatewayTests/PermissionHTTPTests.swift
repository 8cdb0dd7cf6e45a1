import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol
import _CryptoExtras

/// Authorization over real HTTP: controller permissions per endpoint, the `/admin`
/// permission API in both spellings, and resource permissions on nodes and templates.
@Suite struct PermissionHTTPTests {
    static let root = "permission-root-token"

    /// A UAK with `groups`, handshaken; returns a client sending its bearer.
    static func keyClient(_ gateway: TestGateway, id: String, groups: [String]) async throws -> HTTPTestClient {
        let groupList = groups.map { "\"\($0)\"" }.joined(separator: ",")
        let created = try await gateway.http.send(
            "POST",
            "/api/v1/apikey",
            body: #"{"id":"\#(id)","ttl":3600,"groups":[\#(groupList)]}"#
        )
        #expect(created.status == 200, "\(created.text)")
        let privateKey = try #require(created.json["body"] as? String)
        let der = try #require(Data(base64Encoded: privateKey))
        let key = try _RSA.Encryption.PrivateKey(derRepresentation: der)
        let data = try await TAPTests.handshake(
            HTTPTestClient(base: gateway.base, authorization: nil),
            id: id,
            key: key
        )
        let json = try JSONSerialization.data(withJSONObject: data)
        return HTTPTestClient(base: gateway.base, authorization: "Bearer " + json.base64EncodedString())
    }

    static func grant(_ gateway: TestGateway, group: String, _ permissions: [String]) async throws {
        let names = permissions.map { "\"\($0)\"" }.joined(separator: ",")
        let reply = try await gateway.http.send(
            "PUT",
            "/admin/api/v1/permission/group/\(group)/permissions",
            body: "[\(names)]"
        )
        #expect(reply.status == 200, "\(reply.text)")
    }

    /// Every endpoint, the permission it needs, and a request that is otherwise harmless.
    static let endpoints: [(method: String, path: String, body: String?, permission: String)] = [
        ("GET", "/api/v1/vm", nil, "list_vms"),
        ("POST", "/api/v1/vm", #"{"vmid":"no-such-template"}"#, "start_vm"),
        ("PUT", "/api/v1/vm?id=nope", #"{"name":"n"}"#, "update_vm"),
        ("DELETE", "/api/v1/vm", #"{"id":"nope"}"#, "terminate_vm"),
        ("POST", "/api/v1/rpc/vm/restart", #"{"id":"nope"}"#, "start_vm"),
        ("GET", "/api/v1/node", nil, "list_nodes"),
        ("DELETE", "/api/v1/node", #"{"node_id":"nope"}"#, "delete_node"),
        ("POST", "/api/v1/node/config", #"{"node_id":"nope","name":"x"}"#, "change_node_config"),
        ("PUT", "/api/v1/node/update", nil, "change_node_config"),
        ("POST", "/api/v1/group", #"{"name":"made-by-key"}"#, "create_group"),
        ("GET", "/api/v1/group", nil, "get_groups"),
        ("PUT", "/api/v1/group?id=nope", #"{"name":"y"}"#, "update_group"),
        ("DELETE", "/api/v1/group?id=nope", nil, "delete_group"),
        ("POST", "/api/v1/node/group", #"{"node_ids":["nope"],"group_ids":["nope"]}"#, "add_node_to_group"),
        ("DELETE", "/api/v1/node/group", #"{"node_ids":["nope"],"group_ids":["nope"]}"#, "remove_group_from_node"),
        ("POST", "/api/v1/apikey", #"{"id":"second","ttl":60}"#, "create_api_key"),
        ("GET", "/api/v1/apikey", nil, "get_api_key"),
        ("PUT", "/api/v1/apikey", #"{"id":"nokey","groups":[]}"#, "update_api_key"),
        ("DELETE", "/api/v1/apikey", #"{"id":"nokey"}"#, "delete_api_key"),
        ("POST", "/berth/v1/tokens", #"{"ttl":60}"#, "create_join_token"),
        ("GET", "/berth/v1/tokens", nil, "list_join_tokens"),
        ("DELETE", "/berth/v1/tokens", #"{"id":"nokey1"}"#, "revoke_join_token"),
        ("GET", "/admin/api/v1/permission/resources/permissions", nil, "view_permissions"),
        ("GET", "/admin/v1/api/permission/permissions", nil, "view_permissions"),
        ("GET", "/admin/v1/api/permission/group/devops/resources", nil, "view_prmission_groups"),
        ("GET", "/admin/api/v1/permission/group", nil, "view_prmission_groups"),
        ("POST", "/admin/api/v1/permission/group/devops/resources", "[]", "update_permission_groups"),
        ("POST", "/admin/v1/api/permission/group", #"{"name":"made-by-key"}"#, "update_permission_groups"),
        ("DELETE", "/admin/api/v1/permission/group/no-such-group", nil, "delete_permission_groups"),
    ]

    @Test func everyEndpointChecksItsControllerPermissionAndGrantsApplyToLiveSessions() async throws {
        let cp = try await TestControlPlane.start { $0.authorization = true }
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let ci = try await Self.keyClient(gateway, id: "ci-key", groups: ["ci"])

        // Authenticated but without permissions: status still answers.
        #expect(try await ci.send("GET", "/api/v1/status").status == 200)
        var granted: [String] = []
        for endpoint in Self.endpoints {
            let label = "\(endpoint.method) \(endpoint.path)"
            if !granted.contains(endpoint.permission) {
                let denied = try await ci.send(endpoint.method, endpoint.path, body: endpoint.body)
                #expect(denied.status == 403, "\(label): \(denied.text)")
                #expect(denied.json["status"] as? String == "FAIL")
                let message = denied.json["message"] as? String ?? ""
                #expect(message.contains(endpoint.permission), "\(label): \(message)")
                granted.append(endpoint.permission)
                // Changes apply at once to the live session: no new handshake.
                try await Self.grant(gateway, group: "ci", granted)
            }
            let allowed = try await ci.send(endpoint.method, endpoint.path, body: endpoint.body)
            #expect(allowed.status != 403 && allowed.status != 401, "\(label): \(allowed.text)")
            #expect(allowed.json["status"] != nil, "\(label): \(allowed.text)")
        }
        // Revoking takes effect at once too.
        try await Self.grant(gateway, group: "ci", [])
        #expect(try await ci.send("GET", "/api/v1/vm").status == 403)
        // Root keeps every permission; a bad token is still a 401.
        #expect(try await gateway.http.send("GET", "/api/v1/vm").status == 200)
        // A gateway without authentication cannot bypass the control plane's checks.
        let open = try await TestGateway.start(cp, name: "no-auth")
        let bypass = try await open.http.send("GET", "/api/v1/vm")
        #expect(bypass.status == 401)
        #expect(bypass.json["message"] as? String == "Authentication Required")
        #expect(try await open.http.send("GET", "/livez").status == 200)
        await open.stop()
        let wrong = HTTPTestClient(
            base: gateway.base,
            authorization: "Basic " + Data("root:wrong-token".utf8).base64EncodedString()
        )
        let refused = try await wrong.send("GET", "/api/v1/vm")
        #expect(refused.status == 401)
        #expect(refused.json["message"] as? String == "Authentication Required")
        await gateway.stop()
        await cp.stop()
    }

    @Test func withoutAuthorizationAnyAuthenticatedCallerMayDoEverything() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let ci = try await Self.keyClient(gateway, id: "plain", groups: [])
        #expect(try await ci.send("GET", "/api/v1/vm").status == 200)
        #expect(try await ci.send("POST", "/api/v1/group", body: #"{"name":"g"}"#).status == 200)
        await gateway.stop()
        await cp.stop()
    }

    @Test func permissionGroupsAreManagedUnderAdminInBothSpellings() async throws {
        let cp = try await TestControlPlane.start { $0.authorization = true }
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let http = gateway.http

        // The documented catalogue shape.
        for prefix in ["/admin/api/v1", "/admin/v1/api"] {
            let catalogue = try await http.send("GET", "\(prefix)/permission/resources/permissions")
            #expect(catalogue.status == 200)
            let body = try #require(catalogue.json["body"] as? [[String: Any]])
            #expect(body.map { $0["resource_type"] as? String } == ["node", "template"])
            let node = try #require(body.first?["permissions"] as? [String: [String: String]])
            #expect(
                Set(node.keys)
                    == [
                        "change_config", "create_instance", "delete_template", "distribute", "force_upgrade", "list",
                        "remove",
                    ]
            )
            #expect(node["create_instance"]?["label"] == "Create Instance")
        }
        let controller = try #require(
            try await http.send("GET", "/admin/api/v1/permission/permissions").json["body"] as? [[String: Any]]
        )
        #expect(controller.contains { $0["name"] as? String == "view_prmission_groups" })

        // Create, show, update, list, delete.
        let created = try await http.send(
            "POST",
            "/admin/api/v1/permission/group",
            body: #"{"name":"ios team","description":"iOS CI","permissions":["list_vms","start_vm"]}"#
        )
        #expect(created.status == 200, "\(created.text)")
        #expect(
            try await http.send("POST", "/admin/api/v1/permission/group", body: #"{"name":"ios team"}"#).failedOnItsMerits
        )
        #expect(
            try await http.send("POST", "/admin/api/v1/permission/group", body: #"{"name":"x","permissions":["fly"]}"#)
                .failedOnItsMerits
        )
        let shown = try #require(
            try await http.send("GET", "/admin/v1/api/permission/group/ios%20team").json["body"] as? [String: Any]
        )
        #expect(shown["permissions"] as? [String] == ["list_vms", "start_vm"])
        #expect(shown["description"] as? String == "iOS CI")
        let updated = try await http.send(
            "PUT",
            "/admin/v1/api/permission/group/ios%20team",
            body: #"{"permissions":["list_vms"]}"#
        )
        #expect(updated.status == 200)
        let permissions = try await http.send("GET", "/admin/api/v1/permission/group/ios%20team/permissions")
        #expect(permissions.json["body"] as? [String] == ["list_vms"])

        // Resources: the documented POST body, then GET, in both spellings.
        let saved = try await http.send(
            "POST",
            "/admin/v1/api/permission/group/ios%20team/resources",
            body:
                #"[{"id":"3c101836-9540-4733-9482-604d0c5fbe30","id_type":"id","type":"node","permissions":["list","create_instance"]}]"#
        )
        #expect(saved.status == 200, "\(saved.text)")
        #expect(saved.json["message"] as? String == "Saved")
        let resources = try #require(
            try await http.send("GET", "/admin/api/v1/permission/group/ios%20team/resources").json["body"]
                as? [[String: Any]]
        )
        #expect(resources.count == 1)
        #expect(resources.first?["type"] as? String == "node")
        #expect(resources.first?["id_type"] as? String == "id")
        #expect(resources.first?["permissions"] as? [String] == ["create_instance", "list"])
        let badType = try await http.send(
            "POST",
            "/admin/api/v1/permission/group/ios%20team/resources",
            body: #"[{"id":"x","type":"planet","permissions":["list"]}]"#
        )
        #expect(badType.failedOnItsMerits)
        let badPermission = try await http.send(
            "POST",
            "/admin/api/v1/permission/group/ios%20team/resources",
            body: #"[{"id":"x","type":"node","permissions":["pull"]}]"#
        )
        #expect(badPermission.failedOnItsMerits)
        #expect((badPermission.json["message"] as? String)?.contains("pull") == true)
        #expect(
            try await http.send("POST", "/admin/api/v1/permission/group/ios%20team/resources", body: #"{"id":"x"}"#)
                .failedOnItsMerits
        )

        let listed = try #require(
            try await http.send("GET", "/admin/api/v1/permission/groups").json["body"] as? [[String: Any]]
        )
        #expect(listed.map { $0["name"] as? String } == ["ios team"])
        #expect(
            try await http.send("DELETE", "/admin/api/v1/permission/group", body: #"{"name":"ios team"}"#).status == 200
        )
        #expect(try await http.send("DELETE", "/admin/api/v1/permission/group/ios%20team").failedOnItsMerits)
        #expect(try await http.send("GET", "/admin/api/v1/permission/group/ios%20team").failedOnItsMerits)
        await gateway.stop()
        await cp.stop()
    }

    @Test func resourceManagementLimitsNodesTemplatesAndPlacement() async throws {
        let cp = try await TestControlPlane.start {
            $0.authorization = true
            $0.resourceManagement = true
        }
        try await TestTemplates.seed(cp.database)
        let teamNode = cp.startAgent(try await cp.enroll(name: "team-node"), name: "team-node")
        let otherNode = cp.startAgent(try await cp.enroll(name: "other-node"), name: "other-node")
        for node in [teamNode, otherNode] { try await node.waitConnected() }
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let http = gateway.http
        let template = TestTemplates.linux
        try await Self.grant(gateway, group: "instances", ["start_vm", "list_vms", "list_nodes", "delete_node"])
        let saved = try await http.send(
            "POST",
            "/admin/api/v1/permission/group/ios/resources",
            body: """
                [{"id":"\(teamNode.nodeID)","type":"node","permissions":["list","create_instance"]},
                 {"id":"\(template)","type":"template","permissions":["pull"]}]
                """
        )
        #expect(saved.status == 200, "\(saved.text)")
        let ci = try await Self.keyClient(gateway, id: "ios-ci", groups: ["ios", "instances"])

        // Nodes: only the permitted one is listed; removing needs `remove`.
        let nodes = try #require(try await ci.send("GET", "/api/v1/node").json["body"] as? [[String: Any]])
        #expect(nodes.map { $0["node_id"] as? String } == [teamNode.nodeID])
        #expect(try await ci.send("GET", "/api/v1/node?id=\(otherNode.nodeID)").status == 403)
        let remove = try await ci.send("DELETE", "/api/v1/node", body: #"{"node_id":"\#(teamNode.nodeID)"}"#)
        #expect(remove.status == 403)
        #expect((remove.json["message"] as? String)?.contains("remove") == true)

        // Starts: `group` is required, must be the caller's, must grant the template.
        let noGroup = try await ci.send("POST", "/api/v1/vm", body: #"{"vmid":"\#(template)"}"#)
        #expect(noGroup.failedOnItsMerits)
        #expect((noGroup.json["message"] as? String)?.contains("group") == true)
        let nodeGroup = try await ci.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid":"\#(template)","group":"ios","group_id":"g"}"#
        )
        #expect(nodeGroup.failedOnItsMerits)
        let notMine = try await ci.send("POST", "/api/v1/vm", body: #"{"vmid":"\#(template)","group":"android"}"#)
        #expect(notMine.status == 403)
        let otherTemplate = try await ci.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid":"\#(TestTemplates.mac)","group":"ios"}"#
        )
        #expect(otherTemplate.status == 403)
        #expect((otherTemplate.json["message"] as? String)?.contains("pull") == true)
        let wrongNode = try await ci.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid":"\#(template)","group":"ios","node_id":"\#(otherNode.nodeID)"}"#
        )
        #expect(wrongNode.status == 403)

        // Placement stays on the group's nodes, even with room elsewhere.
        let events = cp.controlPlane.events.subscribe()
        let started = try await ci.send("POST", "/api/v1/vm", body: #"{"vmid":"\#(template)","group":"ios","count":2}"#)
        #expect(started.status == 200, "\(started.text)")
        let ids = Set(try #require(started.json["body"] as? [String]))
        try await events.instances(ids, reach: .started)
        let listed = try #require(try await http.send("GET", "/api/v1/vm").json["body"] as? [[String: Any]])
        for entry in listed where ids.contains(entry["instance_id"] as? String ?? "") {
            #expect((entry["vm"] as? [String: Any])?["node_id"] as? String == teamNode.nodeID)
        }
        // A third one waits (the node holds two), and says why, though the other node is free.
        let third = try await ci.send("POST", "/api/v1/vm", body: #"{"vmid":"\#(template)","group":"ios"}"#)
        let thirdID = try #require((third.json["body"] as? [String])?.first)
        let waiting = try await events.instance(where: { $0.instanceID == thirdID && $0.waitReason.contains("ios") })
        #expect(waiting.state == .scheduling)
        // Granting the other node places it there, without a new start.
        let widened = try await http.send(
            "POST",
            "/admin/api/v1/permission/group/ios/resources",
            body: #"[{"id":"\#(otherNode.nodeID)","type":"node","permissions":["create_instance"]}]"#
        )
        #expect(widened.status == 200)
        let placed = try await events.instance(where: { $0.instanceID == thirdID && $0.state == .started })
        #expect(placed.nodeID == otherNode.nodeID)
        for node in [teamNode, otherNode] { await node.stop() }
        await gateway.stop()
        await cp.stop()
    }

    @Test func forcingAnAgentUpdateRunsTheNodesUpdateCommand() async throws {
        let cp = try await TestControlPlane.start()
        let marker = TestPaths.temporaryDirectory("update").appendingPathComponent("updated")
        let node = cp.startAgent(try await cp.enroll(name: "updatable"), name: "updatable") {
            $0.updateCommand = "touch '\(marker.path)'"
        }
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let events = cp.controlPlane.events.subscribe()
        let reply = try await gateway.http.send("PUT", "/api/v1/node/update")
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.json["status"] as? String == "OK")
        try await events.node(node.nodeID, becomes: "Updating")
        try await events.node(node.nodeID, becomes: "Active")
        #expect(FileManager.default.fileExists(atPath: marker.path))
        await node.stop()
        await gateway.stop()
        await cp.stop()
    }
}
