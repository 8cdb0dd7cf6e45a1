import BerthTestSupport
import ControlPlane
import Foundation
import Testing

/// The managed MAC address pool and Anka's `/api/v1/macaddr`.
@Suite struct MACPoolHTTPTests {
    @Test func startsDrawFromThePoolAndTerminationReturnsTheAddress() async throws {
        // Four addresses: 00:1C:42:00:00:00 ... :03.
        let cp = try await TestControlPlane.start { $0.macRange = 0x001C_4200_0000...0x001C_4200_0003 }
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http
        func count(_ query: String) async throws -> Int? {
            try await http.send("GET", "/api/v1/macaddr?\(query)").json["body"] as? Int
        }
        #expect(try await count("count=1") == 4)
        #expect(try await count("in_use=1") == 0)
        #expect(try await http.send("GET", "/api/v1/macaddr").failedOnItsMerits)

        // Two starts draw the lowest free addresses; an explicit one claims its address.
        let two = try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)", "count": 2}"#)
        let ids = try #require(two.json["body"] as? [String])
        let explicit = try await http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(TestTemplates.linux)", "mac_address": "00:1C:42:00:00:03"}"#
        )
        let explicitID = try #require((explicit.json["body"] as? [String])?.first)
        var macs: [String] = []
        for id in ids + [explicitID] {
            let vm = try #require(try await http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any])
            macs.append(vm["mac_address"] as? String ?? "")
        }
        #expect(macs == ["00:1C:42:00:00:00", "00:1C:42:00:00:01", "00:1C:42:00:00:03"])
        #expect(try await count("in_use=1") == 3)
        #expect(try await count("count=1") == 1)
        let inUse = try await http.send("GET", "/api/v1/macaddr?in_use=1&limit=10").json["body"] as? [String]
        #expect(inUse == macs)
        let page =
            try await http.send("GET", "/api/v1/macaddr?limit=2&last=00:1C:42:00:00:01").json["body"] as? [String]
        #expect(page == ["00:1C:42:00:00:02", "00:1C:42:00:00:03"])

        // Taken, outside the pool, or none left: refused, and nothing is created.
        let taken = try await http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(TestTemplates.linux)", "mac_address": "00:1C:42:00:00:03"}"#
        )
        #expect(taken.failedOnItsMerits)
        let outside = try await http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(TestTemplates.linux)", "mac_address": "00:1C:42:99:00:00"}"#
        )
        #expect(outside.failedOnItsMerits)
        let tooMany = try await http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(TestTemplates.linux)", "count": 2}"#
        )
        #expect(tooMany.failedOnItsMerits)
        #expect((tooMany.json["message"] as? String)?.contains("no free MAC") == true)
        #expect(try await cp.database.instances().count == 3)

        // Termination gives the address back.
        let events = cp.controlPlane.events.subscribe()
        #expect(try await http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(ids[0])"}"#).status == 200)
        _ = try await events.instance(where: { $0.instanceID == ids[0] && $0.state == .terminated })
        #expect(try await count("count=1") == 2)

        // Purge drops free addresses but keeps those in use; PUT fills the range again.
        let purged = try await http.send("DELETE", "/api/v1/macaddr")
        #expect(purged.status == 200)
        #expect(try await count("count=1") == 0)
        #expect(try await count("in_use=1") == 2)
        #expect(try await http.send("PUT", "/api/v1/macaddr").status == 200)
        #expect(try await count("count=1") == 2)
        await gateway.stop()
        await cp.stop()
    }

    @Test func withoutAPoolTheEndpointsSaySoAndAGivenAddressPassesThrough() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp)
        let off = try await gateway.http.send("GET", "/api/v1/macaddr?count=1")
        #expect(off.failedOnItsMerits)
        #expect((off.json["message"] as? String)?.contains("--mac-range") == true)
        let started = try await gateway.http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(TestTemplates.linux)", "mac_address": "AA:BB:CC:00:11:22"}"#
        )
        let id = try #require((started.json["body"] as? [String])?.first)
        let vm = try #require(try await gateway.http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any])
        #expect(vm["mac_address"] as? String == "AA:BB:CC:00:11:22")
        await gateway.stop()
        await cp.stop()
    }
}
