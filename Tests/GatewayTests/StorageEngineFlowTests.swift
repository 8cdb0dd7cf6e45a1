import BerthTestSupport
import Foundation
import Testing

/// The Anka surface over each storage engine, across a restart of the control plane:
/// starts, a terminate, the listing, the event log, keys and groups, all kept in SQLite or
/// in PostgreSQL (issue 15, `berth controlplane --database postgres://…`).
@Suite struct StorageEngineFlowTests {
    @Test(arguments: StorageEngine.allCases)
    func whatTheAPIAcknowledgedIsThereAfterARestart(engine: StorageEngine) async throws {
        var cp = try await TestControlPlane.start(store: try await TestStore(engine))
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "mini-1")
        let agent = cp.startAgent(enrolled, name: "mini-1")
        try await agent.waitConnected()
        var gateway = try await TestGateway.start(cp)
        let events = cp.controlPlane.events.subscribe()
        let configured = try await gateway.http.send(
            "POST",
            "/api/v1/node/config",
            body: #"{"node_id": "\#(enrolled.nodeID)", "max_vm_count": 8}"#
        )
        #expect(configured.json["status"] as? String == "OK", "\(configured.text)")

        // Six instances in two requests, all Started; one terminated.
        var ids: [String] = []
        for _ in 0..<2 {
            let reply = try await gateway.http.send(
                "POST",
                "/api/v1/vm",
                body: #"{"vmid": "\#(TestTemplates.linux)", "count": 3}"#
            )
            ids += try #require(reply.json["body"] as? [String], "\(reply.text)")
        }
        #expect(ids.count == 6)
        try await events.instances(Set(ids), reach: .started, timeout: 30)
        let terminated = try await gateway.http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(ids[0])"}"#)
        #expect(terminated.json["status"] as? String == "OK", "\(terminated.text)")
        try await events.instances([ids[0]], reach: .terminated, timeout: 30)
        let group = try await gateway.http.send("POST", "/api/v1/group", body: #"{"name": "racks-a"}"#)
        #expect(group.json["status"] as? String == "OK", "\(group.text)")
        // Berth's extensions are stored too: an environment (extended), and an instance's
        // delete lock and tags.
        let environment = try await gateway.http.send(
            "POST",
            "/berth/v1/env",
            body: #"{"id": "flow-env", "vms": [{"image": "ubuntu-22.04"}], "lifetime": 600}"#
        )
        #expect(environment.json["status"] as? String == "OK", "\(environment.text)")
        let extended = try await gateway.http.send("POST", "/berth/v1/env/flow-env/extend", body: #"{"seconds": 60}"#)
        #expect(extended.json["status"] as? String == "OK", "\(extended.text)")
        let marked = try await gateway.http.send(
            "PUT",
            "/api/v1/vm?id=\(ids[1])",
            body: #"{"delete_lock": true, "tags": ["flow"]}"#
        )
        #expect(marked.json["status"] as? String == "OK", "\(marked.text)")

        await gateway.stop()
        cp = try await cp.restart()
        gateway = try await TestGateway.start(cp)
        try await agent.waitConnected(timeout: 30)

        // Every acknowledged instance is there once, in its state; the node is back.
        let listed = try #require(try await gateway.http.send("GET", "/api/v1/vm").json["body"] as? [[String: Any]])
        let states = Dictionary(
            listed.compactMap { row in (row["instance_id"] as? String).map { ($0, row["vm"] as? [String: Any]) } },
            uniquingKeysWith: { first, _ in first }
        ).mapValues { $0?["instance_state"] as? String ?? "" }
        for id in ids.dropFirst() { #expect(states[id] == "Started", "\(id): \(states[id] ?? "missing")") }
        #expect(states[ids[0]] == nil || states[ids[0]] == "Terminated")
        #expect(listed.count == Set(listed.compactMap { $0["instance_id"] as? String }).count)
        let kept = try #require(
            try await gateway.http.send("GET", "/berth/v1/env/flow-env").json["body"] as? [String: Any]
        )
        #expect(kept["state"] as? String == "running")
        #expect(kept["lifetime"] as? Int == 660)
        #expect((kept["vms"] as? [[String: Any]])?.first?["instance_state"] as? String == "Started")
        let locked = try #require(
            try await gateway.http.send("GET", "/api/v1/vm?id=\(ids[1])").json["body"] as? [String: Any]
        )
        #expect(locked["delete_lock"] as? Bool == true)
        #expect(locked["tags"] as? [String] == ["flow"])
        let groups = try #require(try await gateway.http.send("GET", "/api/v1/group").json["body"] as? [[String: Any]])
        #expect(groups.contains { $0["name"] as? String == "racks-a" })
        let node = try #require(
            (try await gateway.http.send("GET", "/api/v1/node?id=\(enrolled.nodeID)").json["body"] as? [[String: Any]])?
                .first
        )
        #expect(node["capacity"] as? Int == 8)

        // New starts work against the restarted control plane.
        let later = cp.controlPlane.events.subscribe()
        let again = try #require(
            try await gateway.http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)"}"#)
                .json["body"] as? [String]
        )
        try await later.instances(Set(again), reach: .started, timeout: 30)
        let log = try await cp.database.events(kindPrefix: "node.", subject: enrolled.nodeID)
        #expect(log.contains { $0.kind == "node.enrolled" })

        await gateway.stop()
        await agent.stop()
        await cp.stop()
    }
}
