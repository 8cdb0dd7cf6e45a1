import BerthTestSupport
import ControlPlane
import Foundation
import Testing
import WireProtocol

/// `GET /api/v1/vm` fetches its list from the control plane page by page and streams it.
@Suite struct InstanceListPagingTests {
    @Test func aListOfManyPagesIsWholeInOrderAndValidJSON() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp) { $0.instancePageSize = 3 }
        let http = gateway.http
        var created: [String] = []
        for count in [4, 1, 5] {
            let reply = try await http.send(
                "POST",
                "/api/v1/vm",
                body: #"{"vmid":"\#(TestTemplates.linux)","count":\#(count),"name":"paged \"quoted\""}"#
            )
            created += try #require(reply.json["body"] as? [String], "\(reply.text)")
        }
        // One of them ends and is terminated: a hole the cursor must step over.
        #expect(try await http.send("DELETE", "/api/v1/vm", body: #"{"id":"\#(created[3])"}"#).status == 200)

        let listed = try await http.send("GET", "/api/v1/vm")
        #expect(listed.status == 200)
        #expect(listed.contentType.hasPrefix("application/json"))
        let body = try #require(listed.json["body"] as? [[String: Any]], "\(listed.text)")
        #expect(body.compactMap { $0["instance_id"] as? String } == created)
        #expect(body.allSatisfy { ($0["vm"] as? [String: Any])?["name"] as? String == #"paged "quoted""# })
        #expect(listed.json["status"] as? String == "OK")

        // One page when it fits, and one instance by id.
        let one = try await http.send("GET", "/api/v1/vm?id=\(created[0])")
        #expect((one.json["body"] as? [String: Any])?["instance_id"] as? String == created[0])
        await gateway.stop()

        let wide = try await TestGateway.start(cp, name: "gw-wide") { $0.instancePageSize = 100 }
        let whole = try #require(try await wide.http.send("GET", "/api/v1/vm").json["body"] as? [[String: Any]])
        #expect(whole.compactMap { $0["instance_id"] as? String } == created)
        await wide.stop()
        await cp.stop()
    }

    /// Entries the gateway keeps as JSON between polls never stand in for a changed
    /// instance: after a rename and a termination the list is byte for byte what a gateway
    /// without the cache writes.
    @Test func keptEntriesNeverOutliveAChange() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp) { $0.instancePageSize = 2 }
        let http = gateway.http
        let reply = try await http.send("POST", "/api/v1/vm", body: #"{"vmid":"\#(TestTemplates.linux)","count":5}"#)
        let created = try #require(reply.json["body"] as? [String], "\(reply.text)")
        let before = try await http.send("GET", "/api/v1/vm")
        #expect(try await http.send("GET", "/api/v1/vm").text == before.text)

        let rename = #"{"id":"\#(created[1])","name":"renamed"}"#
        #expect(try await http.send("PUT", "/api/v1/vm", body: rename).status == 200)
        #expect(try await http.send("DELETE", "/api/v1/vm", body: #"{"id":"\#(created[3])"}"#).status == 200)
        let after = try await http.send("GET", "/api/v1/vm")
        #expect(after.text != before.text)
        let body = try #require(after.json["body"] as? [[String: Any]], "\(after.text)")
        #expect(body.compactMap { $0["instance_id"] as? String } == created)
        #expect(body[1]["name"] as? String == "renamed")
        #expect((body[3]["vm"] as? [String: Any])?["instance_state"] as? String == "Terminated")

        let uncached = try await TestGateway.start(cp, name: "gw-uncached") {
            $0.instancePageSize = 2
            $0.listCacheBytes = 0
        }
        #expect(try await uncached.http.send("GET", "/api/v1/vm").text == after.text)
        await uncached.stop()
        await gateway.stop()
        await cp.stop()
    }

    @Test func anOldStyleQueryStillGetsEveryInstanceInOneAnswer() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await cp.gatewayClient()
        var ids: [String] = []
        for _ in 0..<3 { ids.append(try await gateway.startOne()) }
        // An IDQuery (what gateways sent before paging) decodes as a query without a limit.
        let response = try await gateway.client.call(RPCCatalog.listInstances, principal: .root, body: IDQuery())
        let list = try InstanceList(bytes: response.body)
        #expect(list.instances.map(\.instanceID) == ids)
        #expect(list.next == 0)
        // A limit pages, with a cursor that resumes after the last one given.
        let first = try InstanceList(
            bytes: try await gateway.client.call(
                RPCCatalog.listInstances,
                principal: .root,
                body: InstanceQuery(limit: 2)
            ).body
        )
        #expect(first.instances.map(\.instanceID) == Array(ids.prefix(2)))
        let second = try InstanceList(
            bytes: try await gateway.client.call(
                RPCCatalog.listInstances,
                principal: .root,
                body: InstanceQuery(after: first.next, limit: 2)
            ).body
        )
        #expect(second.instances.map(\.instanceID) == [ids[2]])
        #expect(second.next == 0)
        await gateway.stop()
        await cp.stop()
    }
}
