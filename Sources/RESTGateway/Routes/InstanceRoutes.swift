import Foundation
import Hummingbird
import WireProtocol

/// `/api/v1/vm`: start, list/show and terminate instances.
struct InstanceRoutes {
    let client: ControlPlaneClient
    let registryAddress: String

    func register(on router: Router<GatewayContext>) {
        router.post("/api/v1/vm") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let body = try startRequest(json)
            let ids: IDList = try await client.rpc(.startInstances, principal: context.principal, body: body)
            return AnkaJSON.ok(ids.ids)
        }
        router.get("/api/v1/vm") { request, context -> Response in
            let id = request.uri.queryParameters.get("id") ?? ""
            let list: InstanceList = try await client.rpc(
                .listInstances,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            if !id.isEmpty, let record = list.instances.first {
                return AnkaJSON.ok(InstanceJSON.vm(record, registry: registryAddress))
            }
            return AnkaJSON.ok(list.instances.map { InstanceJSON.listEntry($0, registry: registryAddress) })
        }
        router.delete("/api/v1/vm") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try json.string("id") ?? request.uri.queryParameters.get("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            let _: Empty = try await client.rpc(.terminateInstance, principal: context.principal, body: IDQuery(id: id))
            return AnkaJSON.ok()
        }
    }

    func startRequest(_ json: RequestJSON) throws -> StartInstancesRequest {
        var body = StartInstancesRequest()
        guard let vmid = try json.string("vmid"), !vmid.isEmpty else {
            throw GatewayError(.badRequest, "vmid is required")
        }
        body.templateID = vmid
        body.tag = try json.string("tag")
        body.version = try json.int("version")
        body.name = try json.string("name") ?? ""
        body.externalID = try json.string("external_id") ?? ""
        body.count = try json.int("count") ?? 1
        body.nodeID = try json.string("node_id") ?? ""
        body.priority = try json.int("priority")
        body.groupID = try json.string("group_id") ?? ""
        body.vcpu = try json.int("vcpu")
        body.vramMB = try json.int("vram")
        if let metadata = try json.object("metadata") {
            for (key, value) in metadata
            where !(value is String || value is Int || value is Double || value is Bool || value is NSNumber) {
                throw GatewayError(.badRequest, "metadata value of \(key) must be a string, integer or boolean")
            }
            body.metadataJSON = String(
                decoding: try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys]),
                as: UTF8.self
            )
        }
        return body
    }
}
