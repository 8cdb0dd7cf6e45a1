import Foundation
import Hummingbird
import WireProtocol

/// `/api/v1/registry/vm` (list, show, delete), `/api/v1/registry/revert`,
/// `/api/v1/registry/vm/remove`, `/api/v1/registry/vm/distribute` and `/api/v1/registry/disk`.
struct RegistryRoutes {
    let client: ControlPlaneClient

    func register(on router: Router<GatewayContext>) {
        router.get("/api/v1/registry/vm") { request, context -> Response in
            let query = request.uri.queryParameters
            let id = query.get("id") ?? ""
            let list: TemplateList = try await client.rpc(
                .listTemplates,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            // apiVer=v1: Registry V1's lighter list, without size and arch.
            let light = query.get("apiVer") == "v1"
            if !id.isEmpty, let template = list.templates.first {
                return AnkaJSON.ok(Self.template(template, withVersions: true, light: light))
            }
            return AnkaJSON.ok(list.templates.map { Self.template($0, withVersions: false, light: light) })
        }
        router.delete("/api/v1/registry/vm") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try request.uri.queryParameters.get("id") ?? json.string("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            let _: Empty = try await client.rpc(.deleteTemplate, principal: context.principal, body: IDQuery(id: id))
            return AnkaJSON.ok()
        }
        router.delete("/api/v1/registry/revert") { request, context -> Response in
            let query = request.uri.queryParameters
            guard let id = query.get("id"), !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            // The docs name it `version` in the table and `number` in the examples: both work.
            var number: Int?
            if let text = query.get("number") ?? query.get("version") {
                guard let value = Int(text), value >= 0 else {
                    throw GatewayError(.badRequest, "number must be a version number")
                }
                number = value
            }
            let _: IDList = try await client.rpc(
                .revertTemplate,
                principal: context.principal,
                body: RevertTemplateRequest(id: id, tag: query.get("tag") ?? "", number: number)
            )
            return AnkaJSON.response(.ok, ["status": "OK", "message": "", "body": NSNull()])
        }
        router.delete("/api/v1/registry/vm/remove") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try request.uri.queryParameters.get("id") ?? json.string("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            let nodes: IDList = try await client.rpc(
                .removeTemplateFromNodes,
                principal: context.principal,
                body: RemoveFromNodesRequest(templateID: id, nodeIDs: try json.stringArray("node_ids") ?? [])
            )
            return AnkaJSON.ok(["requests_sent": nodes.ids.count, "node_ids": nodes.ids])
        }
        router.post("/api/v1/registry/vm/distribute") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            var body = DistributeRequest()
            body.templateID = try json.string("template_id") ?? json.string("id") ?? ""
            guard !body.templateID.isEmpty else { throw GatewayError(.badRequest, "template_id is required") }
            body.tag = try json.string("tag") ?? ""
            body.number = try json.int("version") ?? json.int("number")
            body.nodeIDs = try json.stringArray("node_ids") ?? []
            body.groupID = try json.string("group_id") ?? ""
            body.permissionGroup = try json.string("group") ?? ""
            let id: IDQuery = try await client.rpc(.distributeTemplate, principal: context.principal, body: body)
            return AnkaJSON.ok(["request_id": id.id])
        }
        router.get("/api/v1/registry/vm/distribute") { request, context -> Response in
            let id = request.uri.queryParameters.get("id") ?? ""
            let list: DistributionList = try await client.rpc(
                .listDistributions,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            if !id.isEmpty, let one = list.distributions.first { return AnkaJSON.ok(Self.distribution(one)) }
            return AnkaJSON.ok(list.distributions.map(Self.distribution))
        }
        router.delete("/api/v1/registry/vm/distribute") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try request.uri.queryParameters.get("id") ?? json.string("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            let _: Empty = try await client.rpc(
                .cancelDistribution,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            return AnkaJSON.ok()
        }
        router.get("/api/v1/registry/disk") { _, context -> Response in
            let disk: RegistryDisk = try await client.rpc(.registryDisk, principal: context.principal, body: Empty())
            return AnkaJSON.ok([
                "total": disk.totalBytes,
                "free": disk.freeBytes,
                "used": disk.storedBytes,
                "logical_size": disk.logicalBytes,
                "chunks": disk.chunkCount,
            ])
        }
    }

    static func distribution(_ record: DistributionRecord) -> [String: Any] {
        [
            "request": [
                "request_id": record.id,
                "template_id": record.templateID,
                "tag": record.tag,
                "time_requested": AnkaJSON.timestamp(micros: record.requestedAtMicros),
                "cancelled": record.cancelled,
            ] as [String: Any],
            "distribute_status": Dictionary(
                uniqueKeysWithValues: record.nodes.map { node -> (String, Any) in
                    var status: [String: Any] = [
                        "progress": node.progress, "status": node.done, "bytes_fetched": node.bytesFetched,
                    ]
                    if !node.error.isEmpty { status["error"] = node.error }
                    return (node.nodeID, status)
                }
            ),
        ]
    }

    /// Sorts a version's files into Anka's fields by name: `nvram`, the config (`.yaml`,
    /// `.yml`, `.json`, `.plist`), state files (`state` in the name, `.vmstate`), images.
    static func classify(_ files: [String]) -> (images: [String], states: [String], config: String, nvram: String) {
        var images: [String] = []
        var states: [String] = []
        var config = ""
        var nvram = ""
        for path in files {
            let name = (path as NSString).lastPathComponent.lowercased()
            if name == "nvram" || name.hasSuffix(".nvram") {
                if nvram.isEmpty { nvram = path } else { images.append(path) }
            } else if [".yaml", ".yml", ".json", ".plist"].contains(where: name.hasSuffix), config.isEmpty {
                config = path
            } else if name.contains("state") {
                states.append(path)
            } else {
                images.append(path)
            }
        }
        return (images, states, config, nvram)
    }

    static func template(_ template: TemplateRecord, withVersions: Bool, light: Bool) -> [String: Any] {
        var object: [String: Any] = ["id": template.id, "name": template.name]
        if !light {
            object["size"] = template.sizeBytes
            object["arch"] = template.arch
            object["last_pull"] = template.lastPull
            object["last_push"] = template.lastPush
        }
        if withVersions {
            object["versions"] = template.versions.map { version -> [String: Any] in
                let files = classify(version.files)
                var entry: [String: Any] = [
                    "number": version.number,
                    "tag": version.tag,
                    "description": version.description,
                    "images": files.images,
                    "state_files": files.states,
                    "config_file": files.config,
                    "nvram": files.nvram,
                ]
                if let state = files.states.first { entry["state_file"] = state }
                if !light {
                    entry["size"] = version.sizeBytes
                    entry["arch"] = template.arch
                    entry["last_pull"] = version.lastPull
                    entry["last_push"] = version.lastPush
                }
                return entry
            }
        }
        return object
    }
}
