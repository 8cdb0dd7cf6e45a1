import Hummingbird
import WireProtocol

/// `/api/v1/node`: list/show and delete nodes.
struct NodeRoutes {
    let client: ControlPlaneClient

    func register(on router: Router<GatewayContext>) {
        router.get("/api/v1/node") { request, context -> Response in
            let id = request.uri.queryParameters.get("id") ?? ""
            let list: NodeList = try await client.rpc(.listNodes, principal: context.principal, body: IDQuery(id: id))
            return AnkaJSON.ok(list.nodes.map(NodeJSON.node))
        }
        router.delete("/api/v1/node") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try json.string("node_id") ?? json.string("id") ?? request.uri.queryParameters.get("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "node_id is required") }
            let _: Empty = try await client.rpc(.deleteNode, principal: context.principal, body: IDQuery(id: id))
            return AnkaJSON.ok()
        }
    }
}
