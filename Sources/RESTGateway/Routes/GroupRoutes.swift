import Hummingbird
import WireProtocol

/// `/api/v1/group` (node groups) and `/api/v1/node/group` (membership).
struct GroupRoutes {
    let client: ControlPlaneClient

    func register(on router: Router<GatewayContext>) {
        router.post("/api/v1/group") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            guard let name = try json.string("name"), !name.isEmpty else {
                throw GatewayError(.badRequest, "name is required")
            }
            let body = GroupRecord(
                name: name,
                description: try json.string("description") ?? "",
                fallbackGroupID: try json.string("fallback_group_id")
            )
            let created: GroupRecord = try await client.rpc(
                RPCCatalog.createGroup,
                principal: context.principal,
                body: body
            )
            return AnkaJSON.ok(GroupJSON(created))
        }
        router.get("/api/v1/group") { request, context -> Response in
            let list: GroupList = try await client.rpc(
                RPCCatalog.listGroups,
                principal: context.principal,
                body: Empty()
            )
            let id = request.uri.queryParameters.get("id") ?? ""
            let groups = id.isEmpty ? list.groups : list.groups.filter { $0.id == id }
            if !id.isEmpty && groups.isEmpty { throw GatewayError(.notFound, "No such group \(id)") }
            return AnkaJSON.ok(groups.map(GroupJSON.init))
        }
        router.put("/api/v1/group") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try request.uri.queryParameters.get("id") ?? json.string("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            var body = GroupUpdateRequest(id: id)
            body.name = try json.string("name")
            body.description = try json.string("description")
            // `"fallback_group_id": null` (or "") clears the fallback.
            body.fallbackGroupID = json.isNull("fallback_group_id") ? "" : try json.string("fallback_group_id")
            let _: Empty = try await client.rpc(RPCCatalog.updateGroup, principal: context.principal, body: body)
            return AnkaJSON.ok()
        }
        router.delete("/api/v1/group") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try request.uri.queryParameters.get("id") ?? json.string("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            let _: Empty = try await client.rpc(
                RPCCatalog.deleteGroup,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            return AnkaJSON.ok()
        }
        router.post("/api/v1/node/group") { request, context -> Response in
            let body = try await membership(request)
            let _: Empty = try await client.rpc(RPCCatalog.addNodesToGroups, principal: context.principal, body: body)
            return AnkaJSON.ok()
        }
        router.delete("/api/v1/node/group") { request, context -> Response in
            let body = try await membership(request)
            let _: Empty = try await client.rpc(
                RPCCatalog.removeNodesFromGroups,
                principal: context.principal,
                body: body
            )
            return AnkaJSON.ok()
        }
    }

    private func membership(_ request: Request) async throws -> NodeGroupsRequest {
        let json = try await RequestJSON.read(request)
        let nodes = try json.stringArray("node_ids") ?? json.stringArray("node_id") ?? []
        let groups = try json.stringArray("group_ids") ?? json.stringArray("group_id") ?? []
        guard !nodes.isEmpty else { throw GatewayError(.badRequest, "node_ids is required") }
        guard !groups.isEmpty else { throw GatewayError(.badRequest, "group_ids is required") }
        return NodeGroupsRequest(nodeIDs: nodes, groupIDs: groups)
    }
}
