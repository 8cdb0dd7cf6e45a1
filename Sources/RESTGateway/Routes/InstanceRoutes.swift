import Foundation
import HTTPTypes
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
        router.put("/api/v1/vm") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try request.uri.queryParameters.get("id") ?? json.string("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            var body = UpdateInstanceRequest(instanceID: id)
            body.name = try json.string("name")
            body.externalID = try json.string("external_id")
            body.metadataJSON = try metadataJSON(json)
            let _: Empty = try await client.rpc(.updateInstance, principal: context.principal, body: body)
            return AnkaJSON.ok()
        }
        // The reference gives no method for restart; its curl example POSTs. Accept PUT too.
        for method in [HTTPRequest.Method.post, .put] {
            router.on("/api/v1/rpc/vm/restart", method: method) { request, context -> Response in
                let json = try await RequestJSON.read(request)
                let id =
                    try json.string("id") ?? json.string("instance_id") ?? request.uri.queryParameters.get("id") ?? ""
                guard !id.isEmpty else { throw GatewayError(.badRequest, "id (or instance_id) is required") }
                let _: Empty = try await client.rpc(
                    .restartInstance,
                    principal: context.principal,
                    body: IDQuery(id: id)
                )
                return AnkaJSON.ok()
            }
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
        body.permissionGroup = try json.string("group") ?? ""
        body.vcpu = try json.int("vcpu")
        body.vramMB = try json.int("vram")
        body.metadataJSON = try metadataJSON(json) ?? ""
        body.options = try StartOptionsJSON.parse(json)
        return body
    }

    /// `metadata` as JSON object text; values must be strings, integers or booleans.
    func metadataJSON(_ json: RequestJSON) throws -> String? {
        guard let metadata = try json.object("metadata") else { return nil }
        for (key, value) in metadata where !(value is String || value is NSNumber) {
            throw GatewayError(.badRequest, "metadata value of \(key) must be a string, integer or boolean")
        }
        let data = try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
