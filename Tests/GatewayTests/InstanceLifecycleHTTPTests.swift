import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol

/// Berth's extension of the instance over the REST API: the delete lock, tags, and the stop
/// reason of each way an instance can leave `Started` (docs/extensions.md).
@Suite struct InstanceLifecycleHTTPTests {
    struct Fleet {
        let cp: TestControlPlane
        let gateway: TestGateway
        let agent: TestAgent
        let enrolled: EnrolledNode
        let events: AsyncStream<FleetEvent>

        func start(_ fields: String = "") async throws -> String {
            try await gateway.http.startInstance(fields)
        }

        func startedOne(_ fields: String = "") async throws -> String {
            let id = try await start(fields)
            _ = try await events.instance(where: { $0.instanceID == id && $0.state == .started })
            return id
        }

        func vm(_ id: String) async throws -> [String: Any] {
            try await gateway.http.instance(id)
        }

        /// The ids `GET /api/v1/vm` lists, with `query` appended.
        func listed(_ query: String = "") async throws -> Set<String> {
            let reply = try await gateway.http.send("GET", "/api/v1/vm\(query)")
            #expect(reply.status == 200, "\(reply.text)")
            let entries = try #require(reply.json["body"] as? [[String: Any]])
            return Set(entries.compactMap { $0["instance_id"] as? String })
        }

        func stop() async {
            await agent.stop()
            await gateway.stop()
            await cp.stop()
        }
    }

    static func fleet(driver: SimulatedDriver.Configuration = .fast) async throws -> Fleet {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "node-1")
        let agent = cp.startAgent(enrolled, name: "node-1", driver: driver)
        try await agent.waitConnected()
        let gateway = try await TestGateway.start(cp, rootToken: "lifecycle-root")
        return Fleet(
            cp: cp,
            gateway: gateway,
            agent: agent,
            enrolled: enrolled,
            events: cp.controlPlane.events.subscribe()
        )
    }

    @Test func aDeleteLockRefusesATerminateUntilItIsCleared() async throws {
        let fleet = try await Self.fleet()
        let id = try await fleet.startedOne()
        #expect(try await fleet.vm(id)["delete_lock"] == nil)  // Anka's shape while unused

        let locked = try await fleet.gateway.http.send("PUT", "/api/v1/vm?id=\(id)", body: #"{"delete_lock": true}"#)
        #expect(locked.status == 200 && locked.json["status"] as? String == "OK", "\(locked.text)")
        #expect(try await fleet.vm(id)["delete_lock"] as? Bool == true)

        // Refused on its merits: HTTP 200, FAIL, a message that says how to proceed.
        let refused = try await fleet.gateway.http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(id)"}"#)
        #expect(refused.failedOnItsMerits, "\(refused.text)")
        let message = refused.json["message"] as? String ?? ""
        #expect(message.contains("delete lock") && message.contains("delete_lock"), "\(message)")
        let stillThere = try await fleet.vm(id)
        #expect(stillThere["instance_state"] as? String == "Started")
        #expect(stillThere["stop_reason"] == nil)

        // Other fields of the PUT leave the lock alone; clearing it lets the terminate through.
        _ = try await fleet.gateway.http.send("PUT", "/api/v1/vm?id=\(id)", body: #"{"name": "renamed"}"#)
        #expect(try await fleet.vm(id)["delete_lock"] as? Bool == true)
        _ = try await fleet.gateway.http.send("PUT", "/api/v1/vm?id=\(id)", body: #"{"delete_lock": false}"#)
        let done = try await fleet.gateway.http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(id)"}"#)
        #expect(done.status == 200 && done.json["status"] as? String == "OK", "\(done.text)")
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .terminated })
        let ended = try await fleet.vm(id)
        #expect(ended["stop_reason"] as? String == "terminated_by_user")
        #expect(ended["stopped_by"] as? String == "root")
        #expect((ended["stopped_at"] as? String)?.isEmpty == false)
        await fleet.stop()
    }

    @Test func theDeleteLockAndTagsSurviveARestart() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp)
        let reply = try await gateway.http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(TestTemplates.linux)", "tags": ["ci", "team=web"]}"#
        )
        let id = try #require((reply.json["body"] as? [String])?.first)
        _ = try await gateway.http.send("PUT", "/api/v1/vm?id=\(id)", body: #"{"delete_lock": true}"#)
        await gateway.stop()

        let restarted = try await cp.restart()
        let again = try await TestGateway.start(restarted)
        let vm = try #require(try await again.http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any])
        #expect(vm["delete_lock"] as? Bool == true)
        #expect(vm["tags"] as? [String] == ["ci", "team=web"])
        // Unplaced, yet locked: still refused.
        #expect(try await again.http.send("DELETE", "/api/v1/vm?id=\(id)").failedOnItsMerits)
        await again.stop()
        await restarted.stop()
    }

    @Test func tagsAreSetOnStartReplacedByPutAndFilterTheListAndTheCount() async throws {
        let fleet = try await Self.fleet()
        let web = try await fleet.start(#""tags": ["ci", "team=web"]"#)
        let db = try await fleet.start(#""tags": ["ci", "team=db", "ci"], "count": 1"#)
        let plain = try await fleet.start()
        #expect(try await fleet.vm(web)["tags"] as? [String] == ["ci", "team=web"])
        #expect(try await fleet.vm(db)["tags"] as? [String] == ["ci", "team=db"])  // repeats dropped
        #expect(try await fleet.vm(plain)["tags"] == nil)

        #expect(try await fleet.listed() == [web, db, plain])
        #expect(try await fleet.listed("?tags=ci") == [web, db])
        #expect(try await fleet.listed("?tags=ci,team=web") == [web])
        #expect(try await fleet.listed("?tags=nobody").isEmpty)

        func count(_ query: String) async throws -> Int? {
            let reply = try await fleet.gateway.http.send("GET", "/berth/v1/vm/count\(query)")
            #expect(reply.status == 200, "\(reply.text)")
            return (reply.json["body"] as? [String: Any])?["count"] as? Int
        }
        #expect(try await count("") == 3)
        #expect(try await count("?tags=ci") == 2)
        #expect(try await count("?tags=team=db,ci") == 1)

        // PUT replaces the tags; an empty list removes them.
        _ = try await fleet.gateway.http.send("PUT", "/api/v1/vm?id=\(plain)", body: #"{"tags": ["ci"]}"#)
        _ = try await fleet.gateway.http.send("PUT", "/api/v1/vm?id=\(web)", body: #"{"tags": []}"#)
        #expect(try await fleet.listed("?tags=ci") == [db, plain])
        #expect(try await fleet.vm(web)["tags"] == nil)

        // Terminated instances leave the count unless asked for by state.
        _ = try await fleet.gateway.http.send("DELETE", "/api/v1/vm?id=\(db)")
        _ = try await fleet.events.instance(where: { $0.instanceID == db && $0.state == .terminated })
        #expect(try await count("?tags=ci") == 1)
        #expect(try await count("?tags=ci&state=Terminated") == 1)
        await fleet.stop()
    }

    @Test func badTagsAreRefusedWithTheReason() async throws {
        let fleet = try await Self.fleet()
        for (tags, reason) in [
            (#"["has space"]"#, "may hold only"), (#"[""]"#, "1 to 64"), (#"[1]"#, "array of strings"),
            (#"["a,b"]"#, "may hold only"), ("[" + (0..<33).map { "\"t\($0)\"" }.joined(separator: ",") + "]", "at most 32"),
        ] {
            let reply = try await fleet.gateway.http.send(
                "POST",
                "/api/v1/vm",
                body: #"{"vmid": "\#(TestTemplates.linux)", "tags": \#(tags)}"#
            )
            #expect(reply.json["status"] as? String == "FAIL", "\(tags): \(reply.text)")
            #expect((reply.json["message"] as? String)?.contains(reason) == true, "\(tags): \(reply.text)")
        }
        #expect(try await fleet.listed().isEmpty)
        await fleet.stop()
    }

    @Test func aStartTheDriverRefusesSaysDriverErrorAndWhichNode() async throws {
        var driver = SimulatedDriver.Configuration.fast
        driver.failureRate = 1
        let fleet = try await Self.fleet(driver: driver)
        let id = try await fleet.start()
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .error })
        let vm = try await fleet.vm(id)
        #expect(vm["stop_reason"] as? String == "driver_error")
        #expect(vm["stopped_by"] as? String == "node \(fleet.agent.nodeID)")
        // Terminating it afterwards keeps the first cause.
        _ = try await fleet.gateway.http.send("DELETE", "/api/v1/vm?id=\(id)")
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .terminated })
        #expect(try await fleet.vm(id)["stop_reason"] as? String == "driver_error")
        await fleet.stop()
    }

    @Test func aFailedMonitoredScriptSaysScriptFailed() async throws {
        let fleet = try await Self.fleet()
        let script = Data("exit 3\n".utf8).base64EncodedString()
        let id = try await fleet.start(#""startup_script": "\#(script)", "script_monitoring": true"#)
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .error })
        let vm = try await fleet.vm(id)
        #expect(vm["stop_reason"] as? String == "script_failed", "\(vm)")
        #expect(vm["stopped_by"] as? String == "node \(fleet.agent.nodeID)")
        await fleet.stop()
    }

    @Test func aNodeBackWithoutItsInstanceOrDeletedSaysNodeLost() async throws {
        let fleet = try await Self.fleet()
        let lost = try await fleet.startedOne()
        // The node comes back with an empty driver: the instance is gone from it.
        await fleet.agent.stop()
        let enrolled = try await fleet.cp.enroll(name: "node-2")
        let second = fleet.cp.startAgent(enrolled, name: "node-2")
        try await second.waitConnected()
        let node1 = fleet.agent.nodeID
        let restarted = fleet.cp.startAgent(fleet.enrolled, name: "node-1")
        _ = try await fleet.events.instance(where: { $0.instanceID == lost && $0.state == .error })
        var vm = try await fleet.vm(lost)
        #expect(vm["stop_reason"] as? String == "node_lost")
        #expect(vm["stopped_by"] as? String == "node \(node1)")

        // Deleting a node ends what ran there as lost, by whoever deleted it.
        let onSecond = try await fleet.start(#""node_id": "\#(enrolled.nodeID)""#)
        _ = try await fleet.events.instance(where: { $0.instanceID == onSecond && $0.state == .started })
        let deleted = try await fleet.gateway.http.send("DELETE", "/api/v1/node", body: #"{"node_id": "\#(enrolled.nodeID)"}"#)
        #expect(deleted.status == 200, "\(deleted.text)")
        vm = try await fleet.vm(onSecond)
        #expect(vm["instance_state"] as? String == "Terminated")
        #expect(vm["stop_reason"] as? String == "node_lost")
        #expect(vm["stopped_by"] as? String == "root")
        await second.stop()
        await restarted.stop()
        await fleet.gateway.stop()
        await fleet.cp.stop()
    }
}
