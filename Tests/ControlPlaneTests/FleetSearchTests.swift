import BerthTestSupport
import ControlPlane
import NodeAgent
import Testing
import WireProtocol

/// The dashboard's lists are filtered, sorted and paged by the control plane
/// (`searchInstances`, `searchNodes`), from memory. Real control plane, real mTLS.
@Suite struct FleetSearchTests {
    static func start(
        _ gateway: TestGatewayClient,
        count: Int,
        name: String,
        externalID: String
    ) async throws -> [String] {
        var request = StartInstancesRequest()
        request.templateID = TestTemplates.linux
        request.count = count
        request.name = name
        request.externalID = externalID
        return try IDList(
            bytes: try await gateway.client.call(RPCCatalog.startInstances, principal: .root, body: request).body
        ).ids
    }

    static func search(
        _ gateway: TestGatewayClient,
        _ search: InstanceSearch
    ) async throws -> SearchPage<InstanceRecord> {
        let answer = try await gateway.client.call(RPCCatalog.searchInstances, principal: .root, body: search)
        guard answer.status == .ok else { throw TestFailure("\(answer.status): \(answer.message)") }
        return try SearchPage<InstanceRecord>(bytes: answer.body)
    }

    @Test func instancesAreFilteredSortedAndPagedOnTheControlPlane() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await cp.gatewayClient()
        // No node: every instance waits in Scheduling.
        let alpha = try await Self.start(gateway, count: 70, name: "Alpha build", externalID: "job-1")
        let beta = try await Self.start(gateway, count: 60, name: "beta test", externalID: "job-22")
        for id in beta.prefix(10) {
            _ = try await gateway.client.call(RPCCatalog.terminateInstance, principal: .root, body: IDQuery(id: id))
        }

        // Newest first by default, terminated left out, 50 a page.
        let first = try await Self.search(gateway, InstanceSearch())
        #expect(first.total == 130)
        #expect(first.matching == 120)
        #expect(first.items.count == 50)
        #expect(first.items.map(\.instanceID) == Array(beta.suffix(50).reversed()))
        let last = try await Self.search(gateway, InstanceSearch(offset: 100))
        #expect(last.items.count == 20)
        #expect(last.items.map(\.instanceID) == Array(alpha.prefix(20).reversed()))

        // Text search ignores case and looks at names and external ids; sorting by name.
        let byText = try await Self.search(gateway, InstanceSearch(text: "ALPHA", limit: 500))
        #expect(Set(byText.items.map(\.instanceID)) == Set(alpha))
        let accented = try await Self.start(gateway, count: 1, name: "Ünïcode Build", externalID: "")
        let byAccent = try await Self.search(gateway, InstanceSearch(text: "üNÏ"))
        #expect(byAccent.items.map(\.instanceID) == accented)
        _ = try await gateway.client.call(
            RPCCatalog.terminateInstance,
            principal: .root,
            body: IDQuery(id: accented[0])
        )
        let byExternal = try await Self.search(gateway, InstanceSearch(text: "job-22", limit: 500))
        #expect(byExternal.matching == 50)
        let byName = try await Self.search(gateway, InstanceSearch(sort: "name", ascending: true, limit: 1))
        #expect(byName.items.first?.name == "Alpha build")
        let byNameDown = try await Self.search(gateway, InstanceSearch(sort: "name", limit: 1))
        #expect(byNameDown.items.first?.name == "beta test")

        // A state by name, and the external-id filter.
        let ended = try await Self.search(gateway, InstanceSearch(state: "terminated", limit: 500))
        #expect(Set(ended.items.map(\.instanceID)) == Set(beta.prefix(10) + accented))
        let external = try await Self.search(gateway, InstanceSearch(externalID: "job-1", limit: 500))
        #expect(external.matching == 70)

        // Bad requests say what is wrong.
        for bad in [InstanceSearch(sort: "colour"), InstanceSearch(limit: 501), InstanceSearch(state: "Dancing")] {
            let answer = try await gateway.client.call(RPCCatalog.searchInstances, principal: .root, body: bad)
            #expect(answer.status == .badRequest, "\(bad): \(answer.message)")
        }
        await gateway.stop()
        await cp.stop()
    }

    @Test func nodesAreFilteredSortedAndPagedOnTheControlPlane() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await cp.gatewayClient()
        var enrolled: [EnrolledNode] = []
        for name in ["mini-c", "mini-a", "rack-b", "mini-b"] { enrolled.append(try await cp.enroll(name: name)) }
        let events = cp.controlPlane.events.subscribe()
        let agent = cp.startAgent(enrolled[2], name: "rack-b")
        try await events.node(enrolled[2].nodeID, becomes: "Active")

        func search(_ search: NodeSearch) async throws -> SearchPage<NodeRecord> {
            let answer = try await gateway.client.call(RPCCatalog.searchNodes, principal: .root, body: search)
            guard answer.status == .ok else { throw TestFailure("\(answer.status): \(answer.message)") }
            return try SearchPage<NodeRecord>(bytes: answer.body)
        }
        let all = try await search(NodeSearch())
        #expect(all.items.map(\.name) == ["mini-a", "mini-b", "mini-c", "rack-b"])
        #expect(all.total == 4 && all.matching == 4)
        let minis = try await search(NodeSearch(text: "MINI", descending: true, limit: 2))
        #expect(minis.items.map(\.name) == ["mini-c", "mini-b"])
        #expect(minis.matching == 3)
        let secondPage = try await search(NodeSearch(text: "mini", offset: 2, limit: 2))
        #expect(secondPage.items.map(\.name) == ["mini-c"])
        let active = try await search(NodeSearch(state: "Active"))
        #expect(active.items.map(\.nodeID) == [enrolled[2].nodeID])
        let byState = try await search(NodeSearch(sort: "state"))
        #expect(byState.items.first?.state == "Active")
        let bad = try await gateway.client.call(RPCCatalog.searchNodes, principal: .root, body: NodeSearch(sort: "x"))
        #expect(bad.status == .badRequest)
        await agent.stop()
        await gateway.stop()
        await cp.stop()
    }
}
