import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol

/// Node groups over real HTTP, with the reference's request bodies.
@Suite struct GroupHTTPTests {
    @Test func groupsCanBeCreatedListedUpdatedAndDeleted() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http
        let created = try await http.send(
            "POST",
            "/api/v1/group",
            body: #"{"name": "GreateNodes", "description": "best of my macs"}"#
        )
        #expect(created.status == 200)
        let group = try #require(created.json["body"] as? [String: Any])
        let id = try #require(group["id"] as? String)
        #expect(group["name"] as? String == "GreateNodes")
        #expect(group["description"] as? String == "best of my macs")
        #expect(group["fallback_group_id"] is NSNull)
        // Without a description it is still a string.
        let bare = try await http.send("POST", "/api/v1/group", body: #"{"name": "spare"}"#)
        let spare = try #require(bare.json["body"] as? [String: Any])
        #expect(spare["description"] as? String == "")
        let spareID = try #require(spare["id"] as? String)

        let updated = try await http.send(
            "PUT",
            "/api/v1/group?id=\(id)",
            body:
                #"{"name": "Creme-de-la-nodes", "description": "A selected group of my favorite computers", "fallback_group_id": "\#(spareID)"}"#
        )
        #expect(updated.status == 200, "\(updated.text)")
        let listed = try #require(try await http.send("GET", "/api/v1/group").json["body"] as? [[String: Any]])
        let renamed = try #require(listed.first { $0["id"] as? String == id })
        #expect(renamed["name"] as? String == "Creme-de-la-nodes")
        #expect(renamed["fallback_group_id"] as? String == spareID)

        // A fallback cycle, a duplicate name, a missing fallback.
        let cycle = try await http.send("PUT", "/api/v1/group?id=\(spareID)", body: #"{"fallback_group_id": "\#(id)"}"#)
        #expect(cycle.failedOnItsMerits)
        #expect((cycle.json["message"] as? String)?.contains("cycle") == true)
        #expect(try await http.send("POST", "/api/v1/group", body: #"{"name": "spare"}"#).failedOnItsMerits)
        #expect(
            try await http.send("POST", "/api/v1/group", body: #"{"name": "x", "fallback_group_id": "nope"}"#).failedOnItsMerits
        )
        #expect(try await http.send("POST", "/api/v1/group", body: #"{"description": "no name"}"#).failedOnItsMerits)
        // null clears the fallback.
        #expect(
            try await http.send("PUT", "/api/v1/group?id=\(id)", body: #"{"fallback_group_id": null}"#).status == 200
        )
        let cleared = try #require(
            try await http.send("GET", "/api/v1/group?id=\(id)").json["body"] as? [[String: Any]]
        )
        #expect(cleared.first?["fallback_group_id"] is NSNull)

        let deleted = try await http.send("DELETE", "/api/v1/group?id=\(id)")
        #expect(deleted.status == 200)
        #expect(try await http.send("DELETE", "/api/v1/group?id=\(id)").failedOnItsMerits)
        await gateway.stop()
        await cp.stop()
    }

    @Test func nodesJoinAndLeaveGroupsAndGroupTargetingSpillsOver() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        var driver = SimulatedDriver.Configuration.fast
        driver.maxVMCount = 1
        let iosNode = cp.startAgent(try await cp.enroll(name: "ios-1"), name: "ios-1", driver: driver)
        let spareNode = cp.startAgent(try await cp.enroll(name: "spare-1"), name: "spare-1", driver: driver)
        let otherNode = cp.startAgent(try await cp.enroll(name: "other"), name: "other", driver: driver)
        for node in [iosNode, spareNode, otherNode] { try await node.waitConnected() }
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http
        let spare = try #require(
            (try await http.send("POST", "/api/v1/group", body: #"{"name": "spare"}"#).json["body"] as? [String: Any])?[
                "id"
            ] as? String
        )
        let ios = try #require(
            (try await http.send("POST", "/api/v1/group", body: #"{"name": "iOS", "fallback_group_id": "\#(spare)"}"#)
                .json["body"] as? [String: Any])?["id"] as? String
        )

        for (node, group) in [(iosNode.nodeID, ios), (spareNode.nodeID, spare)] {
            let added = try await http.send(
                "POST",
                "/api/v1/node/group",
                body: #"{"group_ids": ["\#(group)"], "node_ids": ["\#(node)"]}"#
            )
            #expect(added.status == 200, "\(added.text)")
        }
        let listed = try #require(
            (try await http.send("GET", "/api/v1/node?id=\(iosNode.nodeID)").json["body"] as? [[String: Any]])?.first
        )
        #expect((listed["groups"] as? [[String: Any]])?.first?["name"] as? String == "iOS")

        // Two starts for iOS: the first lands in iOS, the second spills into its fallback.
        let events = cp.controlPlane.events.subscribe()
        var placed: [String: String] = [:]
        for _ in 0..<2 {
            let reply = try await http.send(
                "POST",
                "/api/v1/vm",
                body: #"{"vmid": "\#(TestTemplates.linux)", "group_id": "\#(ios)"}"#
            )
            let id = try #require((reply.json["body"] as? [String])?.first)
            let started = try await events.instance(where: { $0.instanceID == id && $0.state == .started })
            placed[id] = started.nodeID
            #expect(
                (try await http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any])?["group_id"]
                    as? String == ios
            )
        }
        #expect(Set(placed.values) == [iosNode.nodeID, spareNode.nodeID])
        // A third waits: both groups are full, and the node outside them is not used.
        let third = try await http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(TestTemplates.linux)", "group_id": "\#(ios)"}"#
        )
        let waitingID = try #require((third.json["body"] as? [String])?.first)
        let reason = try await withTimeout(10, "a group wait reason") {
            while true {
                let vm = try await http.send("GET", "/api/v1/vm?id=\(waitingID)").json["body"] as? [String: Any]
                if let reason = vm?["wait_reason"] as? String, reason.contains("group") { return reason }
            }
        }
        #expect(reason == "waiting for capacity in groups iOS → spare: 2 at capacity")
        #expect(
            try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)", "group_id": "nope"}"#)
                .failedOnItsMerits
        )

        let removed = try await http.send(
            "DELETE",
            "/api/v1/node/group",
            body: #"{"group_ids": ["\#(ios)"], "node_ids": ["\#(iosNode.nodeID)"]}"#
        )
        #expect(removed.status == 200)
        let after = try #require(
            (try await http.send("GET", "/api/v1/node?id=\(iosNode.nodeID)").json["body"] as? [[String: Any]])?.first
        )
        #expect(after["groups"] == nil)
        #expect(
            try await http.send(
                "POST",
                "/api/v1/node/group",
                body: #"{"group_ids": ["\#(ios)"], "node_ids": ["nope"]}"#
            ).failedOnItsMerits
        )
        #expect(
            try await http.send("POST", "/api/v1/node/group", body: #"{"node_ids": ["\#(iosNode.nodeID)"]}"#).failedOnItsMerits
        )
        await gateway.stop()
        for node in [iosNode, spareNode, otherNode] { await node.stop() }
        await cp.stop()
    }
}
