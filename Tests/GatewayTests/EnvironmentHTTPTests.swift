import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Persistence
import Testing
import WireProtocol

/// `/berth/v1/env`: environments over the REST API, with real sockets, real TLS and a real
/// SQLite file (docs/extensions.md).
@Suite struct EnvironmentHTTPTests {
    static let root = "environment-root-token"

    struct Fleet {
        let cp: TestControlPlane
        let gateway: TestGateway
        let agent: TestAgent
        let enrolled: EnrolledNode
        let driver: SimulatedDriver
        let events: AsyncStream<FleetEvent>

        func create(_ body: String) async throws -> HTTPTestClient.Reply {
            try await gateway.http.send("POST", "/berth/v1/env", body: body)
        }

        func environment(_ id: String) async throws -> [String: Any] {
            let reply = try await gateway.http.send("GET", "/berth/v1/env/\(id)")
            #expect(reply.status == 200, "\(reply.text)")
            return try #require(reply.json["body"] as? [String: Any])
        }

        func vm(_ id: String) async throws -> [String: Any] {
            try await gateway.http.instance(id)
        }

        func eventKinds(_ prefix: String) async throws -> [String] {
            let reply = try await gateway.http.send("GET", "/berth/v1/events?kind=\(prefix)&limit=100")
            return (reply.json["body"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        }

        func stop() async {
            await agent.stop()
            await gateway.stop()
            await cp.stop()
        }
    }

    static func fleet(configure: (inout ControlPlaneConfiguration) -> Void = { _ in }) async throws -> Fleet {
        let cp = try await TestControlPlane.start(configure: configure)
        try await TestTemplates.seed(cp.database)
        var configuration = SimulatedDriver.Configuration.fast
        configuration.maxVMCount = 8
        configuration.root = TestPaths.temporaryDirectory("simulated")
        let driver = SimulatedDriver(configuration: configuration)
        let enrolled = try await cp.enroll(name: "node-1")
        let agent = cp.startAgent(enrolled, name: "node-1", using: driver)
        try await agent.waitConnected()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        return Fleet(
            cp: cp,
            gateway: gateway,
            agent: agent,
            enrolled: enrolled,
            driver: driver,
            events: cp.controlPlane.events.subscribe()
        )
    }

    static func members(_ environment: [String: Any]) -> [[String: Any]] {
        environment["vms"] as? [[String: Any]] ?? []
    }

    @Test func anEnvironmentStartsItsVMsWithTheKeysAndIsDestroyedAsOne() async throws {
        let fleet = try await Self.fleet()
        let created = try await fleet.create(
            #"""
            {"id": "alice-dev", "owner": "alice", "ssh_keys": ["ssh-ed25519 AAAAC3Nza alice@laptop"],
             "vms": [{"image": "ubuntu-22.04", "cpu": 1, "mem": 1024, "ports": [80]},
                     {"template": "\#(TestTemplates.linux)", "tag": "ci"}],
             "lifetime": 3600}
            """#
        )
        #expect(created.status == 200 && created.json["status"] as? String == "OK", "\(created.text)")
        let body = try #require(created.json["body"] as? [String: Any])
        #expect(body["state"] as? String == "running")
        #expect(body["owner"] as? String == "alice")
        #expect(body["created_by"] as? String == "root")
        let left = body["time_left"] as? Int ?? 0
        #expect(left > 3500 && left <= 3600, "\(body)")
        let members = Self.members(body)
        #expect(members.count == 2)
        #expect(members.allSatisfy { $0["instance_state"] as? String == "Started" })
        // Port 22 always, and the ports asked for, each with the tunnel that reaches it.
        let first = try #require(members.first)
        let ports = (first["ports"] as? [[String: Any]] ?? []).compactMap { $0["port"] as? Int }
        #expect(ports == [22, 80], "\(first)")
        let id = try #require(first["instance_id"] as? String)
        #expect((first["ports"] as? [[String: Any]])?.last?["tunnel"] as? String == "/berth/v1/vm/port-forward?id=\(id)&port=80")
        // Every member has the keys as authorized_keys in its directory.
        for member in members {
            let instanceID = try #require(member["instance_id"] as? String)
            let keys = try String(
                contentsOf: fleet.driver.directory(of: instanceID).appendingPathComponent("authorized_keys"),
                encoding: .utf8
            )
            #expect(keys == "ssh-ed25519 AAAAC3Nza alice@laptop\n")
        }
        // Sized as asked; listed; its members named after it.
        #expect(try await fleet.vm(id)["name"] as? String == "alice-dev-0")
        let listed = try await fleet.gateway.http.send("GET", "/berth/v1/env")
        #expect((listed.json["body"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["alice-dev"])

        // The dashboard lists it with its VMs and the time it has left.
        let browser = TestBrowser(base: fleet.gateway.base)
        #expect(try await browser.logIn(token: Self.root).status == 303)
        let page = try await browser.request("/environments")
        #expect(page.status == 200)
        #expect(page.body.contains("alice-dev") && page.body.contains("2 of 2 Started"), "\(page.body)")
        #expect(page.body.contains("59m") || page.body.contains("1h 00m"), "\(page.body)")

        // Stop and start the whole environment.
        #expect(try await fleet.gateway.http.send("POST", "/berth/v1/env/alice-dev/stop").status == 200)
        let ids = Set(members.compactMap { $0["instance_id"] as? String })
        try await fleet.events.instances(ids, reach: .stopped)
        #expect(try await fleet.environment("alice-dev")["state"] as? String == "stopped")
        #expect(try await fleet.gateway.http.send("POST", "/berth/v1/env/alice-dev/start").status == 200)
        try await fleet.events.instances(ids, reach: .started)

        // Destroyed as one: every member terminated by the caller.
        let destroyed = try await fleet.gateway.http.send("DELETE", "/berth/v1/env/alice-dev")
        #expect(destroyed.status == 200, "\(destroyed.text)")
        try await fleet.events.instances(ids, reach: .terminated)
        let after = try await fleet.environment("alice-dev")
        #expect(after["state"] as? String == "destroyed")
        #expect(after["time_left"] as? Int == 0)
        for instanceID in ids {
            let vm = try await fleet.vm(instanceID)
            #expect(vm["stop_reason"] as? String == "terminated_by_user")
            #expect(vm["stopped_by"] as? String == "root")
            #expect(!FileManager.default.fileExists(atPath: fleet.driver.directory(of: instanceID).path))
        }
        let kinds = try await fleet.eventKinds("env.")
        #expect(kinds.sorted() == ["env.created", "env.destroyed"])
        // The id is taken: a second create with it is refused.
        let again = try await fleet.create(#"{"id": "alice-dev", "vms": [{"image": "ubuntu-22.04"}]}"#)
        #expect(again.json["status"] as? String == "FAIL")
        #expect((again.json["message"] as? String)?.contains("exists") == true)
        await fleet.stop()
    }

    @Test func aCreateThatCannotPlaceEveryVMLeavesNothingBehind() async throws {
        let fleet = try await Self.fleet()
        // The second VM is an arm64 template and the only node is amd64: it is never placed.
        let reply = try await fleet.create(
            #"""
            {"id": "too-big", "vms": [{"image": "ubuntu-22.04"}, {"image": "macos-14"}],
             "timeout": 1}
            """#
        )
        #expect(reply.json["status"] as? String == "FAIL", "\(reply.text)")
        let message = reply.json["message"] as? String ?? ""
        #expect(message.contains("not created") && message.contains("within 1s"), "\(message)")
        let environment = try await fleet.environment("too-big")
        #expect(environment["state"] as? String == "failed")
        let ids = Set(Self.members(environment).compactMap { $0["instance_id"] as? String })
        #expect(ids.count == 2)
        // None stays: the one that started is terminated too, and nothing runs on the node.
        try await fleet.events.instances(ids, reach: .terminated)
        #expect(await fleet.driver.instances().isEmpty)
        let kinds = try await fleet.eventKinds("env.")
        #expect(kinds.sorted() == ["env.created", "env.failed"])
        // A bad request stores nothing at all.
        let unknown = try await fleet.create(#"{"id": "typo", "vms": [{"image": "no-such-image"}]}"#)
        #expect(unknown.json["status"] as? String == "FAIL")
        #expect((unknown.json["message"] as? String)?.contains("No such template") == true)
        #expect(try await fleet.gateway.http.send("GET", "/berth/v1/env/typo").status == 404)
        for bad in [
            #"{"id": "x", "vms": []}"#, #"{"id": "a/b", "vms": [{"image": "ubuntu-22.04"}]}"#,
            #"{"id": "..", "vms": [{"image": "ubuntu-22.04"}]}"#, #"{"id": "x", "vms": [{}]}"#,
            #"{"id": "x", "vms": [{"image": "ubuntu-22.04"}], "lifetime": 0}"#,
            #"{"id": "x", "vms": [{"image": "ubuntu-22.04", "ports": [70000]}]}"#,
        ] {
            let refused = try await fleet.create(bad)
            #expect(refused.json["status"] as? String == "FAIL", "\(bad): \(refused.text)")
        }
        await fleet.stop()
    }

    @Test func anEnvironmentThatExpiresWhileTheControlPlaneIsDownEndsOnceItIsBack() async throws {
        let fleet = try await Self.fleet()
        let created = try await fleet.create(
            #"{"id": "short", "vms": [{"image": "ubuntu-22.04"}, {"image": "ubuntu-22.04"}], "lifetime": 3600}"#
        )
        #expect(created.json["status"] as? String == "OK", "\(created.text)")
        let ids = Set(Self.members(try #require(created.json["body"] as? [String: Any])).compactMap { $0["instance_id"] as? String })
        // One member is locked: expiry ends it anyway (the lifetime was agreed at create).
        let locked = try #require(ids.first)
        _ = try await fleet.gateway.http.send("PUT", "/api/v1/vm?id=\(locked)", body: #"{"delete_lock": true}"#)
        // Extending moves the deadline, and is recorded.
        let before = try await fleet.environment("short")["expires_at"] as? String
        let extended = try await fleet.gateway.http.send("POST", "/berth/v1/env/short/extend", body: #"{"seconds": 60}"#)
        #expect((extended.json["body"] as? [String: Any])?["lifetime"] as? Int == 3660, "\(extended.text)")
        #expect((extended.json["body"] as? [String: Any])?["expires_at"] as? String != before)
        await fleet.gateway.stop()
        await fleet.cp.stop()

        // While it is down, the deadline passes (moved into the past in its database).
        let database = try fleet.cp.directory.openDatabase()
        try await database.engine.write { db in
            try db.execute("UPDATE environments SET expires_at = 1 WHERE id = 'short'", [])
        }
        let back = try await TestControlPlane.start(directory: fleet.cp.directory, port: fleet.cp.port)
        let gateway = try await TestGateway.start(back, rootToken: Self.root)
        // Wait-for-state reads each VM first, so an end before the wait counts too.
        for id in ids {
            let ended = try await gateway.http.send("GET", "/berth/v1/vm/wait?id=\(id)&state=Terminated&timeout=60")
            #expect(ended.json["status"] as? String == "OK", "\(ended.text)")
        }
        let environment = try #require(
            try await gateway.http.send("GET", "/berth/v1/env/short").json["body"] as? [String: Any]
        )
        #expect(environment["state"] as? String == "expired")
        for id in ids {
            let vm = try #require(try await gateway.http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any])
            #expect(vm["stop_reason"] as? String == "expired")
            #expect(vm["stopped_by"] as? String == "lifetime")
            // Terminated exactly once.
            let history = try await back.controlPlane.database.transitions(instanceID: id)
            #expect(history.filter { $0.state == "Terminating" }.count == 1, "\(history.map(\.state))")
        }
        let kinds = (try await gateway.http.send("GET", "/berth/v1/events?kind=env.&limit=100").json["body"] as? [[String: Any]] ?? [])
            .compactMap { $0["kind"] as? String }
        #expect(kinds.sorted() == ["env.created", "env.expired", "env.extended"], "\(kinds)")
        #expect(await fleet.driver.instances().isEmpty)
        await fleet.agent.stop()
        await gateway.stop()
        await back.stop()
    }

    @Test func ownersSeeAndManageTheirOwnAndManageEnvsCoversEvery() async throws {
        let fleet = try await Self.fleet { $0.authorization = true }
        try await PermissionHTTPTests.grant(fleet.gateway, group: "devs", ["manage_own_envs"])
        try await PermissionHTTPTests.grant(fleet.gateway, group: "ops", ["manage_envs"])
        try await PermissionHTTPTests.grant(fleet.gateway, group: "none", ["list_vms"])
        let alice = try await PermissionHTTPTests.keyClient(fleet.gateway, id: "alice", groups: ["devs"])
        let bob = try await PermissionHTTPTests.keyClient(fleet.gateway, id: "bob", groups: ["devs"])
        let ops = try await PermissionHTTPTests.keyClient(fleet.gateway, id: "ops-key", groups: ["ops"])
        let other = try await PermissionHTTPTests.keyClient(fleet.gateway, id: "other", groups: ["none"])

        let made = try await alice.send("POST", "/berth/v1/env", body: #"{"id": "a1", "vms": [{"image": "ubuntu-22.04"}]}"#)
        #expect(made.status == 200, "\(made.text)")
        #expect((made.json["body"] as? [String: Any])?["owner"] as? String == "alice")  // the caller by default
        // Not for someone else without manage_envs.
        let forBob = try await alice.send(
            "POST",
            "/berth/v1/env",
            body: #"{"id": "a2", "owner": "bob", "vms": [{"image": "ubuntu-22.04"}]}"#
        )
        #expect(forBob.status == 403, "\(forBob.text)")
        #expect((forBob.json["message"] as? String)?.contains("manage_envs") == true)
        // Bob sees none of Alice's, and cannot touch them.
        #expect((try await bob.send("GET", "/berth/v1/env").json["body"] as? [Any])?.isEmpty == true)
        #expect(try await bob.send("GET", "/berth/v1/env/a1").status == 404)
        #expect(try await bob.send("DELETE", "/berth/v1/env/a1").status == 404)
        #expect(try await bob.send("POST", "/berth/v1/env/a1/extend", body: #"{"seconds": 5}"#).status == 404)
        // Without either permission: refused, naming the permission.
        let refused = try await other.send("GET", "/berth/v1/env")
        #expect(refused.status == 403)
        #expect((refused.json["message"] as? String)?.contains("manage_own_envs") == true)
        // manage_envs sees and manages every environment.
        let all = try await ops.send("GET", "/berth/v1/env")
        #expect((all.json["body"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["a1"])
        #expect(try await alice.send("POST", "/berth/v1/env/a1/extend", body: #"{"seconds": 5}"#).status == 200)
        #expect(try await ops.send("DELETE", "/berth/v1/env/a1").status == 200)
        let ended = try await alice.send("GET", "/berth/v1/env/a1").json["body"] as? [String: Any]
        #expect(ended?["state"] as? String == "destroyed")
        await fleet.stop()
    }
}
