import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing

/// `GET /berth/v1/vm/wait`: a held call instead of polling.
@Suite struct WaitHTTPTests {
    @Test func waitReturnsWhenTheStateIsReachedAndExplainsTimeoutsAndEnds() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        var driver = SimulatedDriver.Configuration.fast
        driver.bootTime = .milliseconds(300)
        let node = cp.startAgent(try await cp.enroll(name: "mini"), name: "mini", driver: driver)
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http

        let started = try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)"}"#)
        let id = try #require((started.json["body"] as? [String])?.first)
        // Held until Started (about 300 ms of simulated boot), then the vm object.
        let reached = try await http.send("GET", "/berth/v1/vm/wait?id=\(id)&state=Started&timeout=20")
        #expect(reached.status == 200, "\(reached.text)")
        let vm = try #require(reached.json["body"] as? [String: Any])
        #expect(vm["instance_state"] as? String == "Started")
        #expect(vm["vminfo"] != nil)
        // Already there: answers at once.
        #expect(try await http.send("GET", "/berth/v1/vm/wait?id=\(id)").status == 200)

        // Not reached in time: 408 with the current state.
        let timedOut = try await http.send("GET", "/berth/v1/vm/wait?id=\(id)&state=Stopped&timeout=0.3")
        #expect(timedOut.status == 408)
        #expect((timedOut.json["message"] as? String)?.contains("instance is Started") == true)

        // Ends another way: 409 at once, not a wait until the timeout.
        #expect(try await http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(id)"}"#).status == 200)
        let ended = try await http.send("GET", "/berth/v1/vm/wait?id=\(id)&state=Stopped&timeout=30")
        #expect(ended.status == 409, "\(ended.text)")
        #expect((ended.json["message"] as? String)?.contains("Terminat") == true)

        // Bad input.
        #expect(try await http.send("GET", "/berth/v1/vm/wait").status == 400)
        #expect(try await http.send("GET", "/berth/v1/vm/wait?id=\(id)&state=Flying").status == 400)
        #expect(try await http.send("GET", "/berth/v1/vm/wait?id=\(id)&timeout=9999").status == 400)
        #expect(try await http.send("GET", "/berth/v1/vm/wait?id=nope").status == 404)
        await node.stop()
        await gateway.stop()
        await cp.stop()
    }
}
