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
                RPCCatalog.listTemplates,
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
            let _: Empty = try await client.rpc(
                RPCCatalog.deleteTemplate,
                principal: context.principal,
                body: IDQuery(id: id)
            )
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
                RPCCatalog.revertTemplate,
                principal: context.principal,
                body: RevertTemplateRequest(id: id, tag: query.get("tag") ?? "", number: number)
            )
            return AnkaJSON.okWithNullBody()
        }
        router.delete("/api/v1/registry/vm/remove") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try request.uri.queryParameters.get("id") ?? json.string("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            let nodes: IDList = try await client.rpc(
                RPCCatalog.removeTemplateFromNodes,
                principal: context.principal,
                body: RemoveFromNodesRequest(templateID: id, nodeIDs: try json.stringArray("node_ids") ?? [])
            )
            return AnkaJSON.ok(RemovalJSON(requests_sent: nodes.ids.count, node_ids: nodes.ids))
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
            let id: IDQuery = try await client.rpc(
                RPCCatalog.distributeTemplate,
                principal: context.principal,
                body: body
            )
            return AnkaJSON.ok(RequestIDJSON(request_id: id.id))
        }
        router.get("/api/v1/registry/vm/distribute") { request, context -> Response in
            let id = request.uri.queryParameters.get("id") ?? ""
            let list: DistributionList = try await client.rpc(
                RPCCatalog.listDistributions,
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
                RPCCatalog.cancelDistribution,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            return AnkaJSON.ok()
        }
        router.get("/api/v1/registry/disk") { _, context -> Response in
            let disk: RegistryDisk = try await client.rpc(
                RPCCatalog.registryDisk,
                principal: context.principal,
                body: Empty()
            )
            return AnkaJSON.ok(
                DiskJSON(
                    total: disk.totalBytes,
                    free: disk.freeBytes,
                    used: disk.storedBytes,
                    logical_size: disk.logicalBytes,
                    chunks: disk.chunkCount
                )
            )
        }
    }

    static func distribution(_ record: DistributionRecord) -> DistributionJSON {
        DistributionJSON(
            request: .init(
                request_id: record.id,
                template_id: record.templateID,
                tag: record.tag,
                time_requested: AnkaJSON.timestamp(micros: record.requestedAtMicros),
                cancelled: record.cancelled
            ),
            distribute_status: Dictionary(
                record.nodes.map {
                    (
                        $0.nodeID,
                        DistributionJSON.NodeStatus(
                            progress: $0.progress,
                            status: $0.done,
                            bytes_fetched: $0.bytesFetched,
                            error: $0.error.isEmpty ? nil : $0.error
                        )
                    )
                },
                uniquingKeysWith: { first, _ in first }
            )
        )
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

    static func template(_ template: TemplateRecord, withVersions: Bool, light: Bool) -> TemplateJSON {
        TemplateJSON(
            id: template.id,
            name: template.name,
            size: light ? nil : template.sizeBytes,
            arch: light ? nil : template.arch,
            last_pull: light ? nil : template.lastPull,
            last_push: light ? nil : template.lastPush,
            versions: withVersions
                ? template.versions.map { version in
                    let files = classify(version.files)
                    return TemplateJSON.Version(
                        number: version.number,
                        tag: version.tag,
                        description: version.description,
                        images: files.images,
                        state_files: files.states,
                        config_file: files.config,
                        nvram: files.nvram,
                        state_file: files.states.first,
                        size: light ? nil : version.sizeBytes,
                        arch: light ? nil : template.arch,
                        last_pull: light ? nil : version.lastPull,
                        last_push: light ? nil : version.lastPush
                    )
                } : nil
        )
    }

    /// A template in the registry; size, arch and times are left out of Registry V1's light list.
    struct TemplateJSON: Encodable {
        struct Version: Encodable {
            let number: Int
            let tag: String
            let description: String
            let images: [String]
            let state_files: [String]
            let config_file: String
            let nvram: String
            let state_file: String?
            let size: Int?
            let arch: String?
            let last_pull: Int?
            let last_push: Int?
        }

        let id: String
        let name: String
        let size: Int?
        let arch: String?
        let last_pull: Int?
        let last_push: Int?
        let versions: [Version]?
    }

    /// A distribution request and each node's progress, keyed by node id.
    struct DistributionJSON: Encodable {
        struct Request: Encodable {
            let request_id: String
            let template_id: String
            let tag: String
            let time_requested: String
            let cancelled: Bool
        }

        struct NodeStatus: Encodable {
            let progress: Double
            let status: Bool
            let bytes_fetched: Int
            let error: String?
        }

        let request: Request
        let distribute_status: [String: NodeStatus]
    }

    struct RemovalJSON: Encodable {
        let requests_sent: Int
        let node_ids: [String]
    }

    struct DiskJSON: Encodable {
        let total: Int
        let free: Int
        let used: Int
        let logical_size: Int
        let chunks: Int
    }
}

/// `{"request_id": …}`: the answer to a request that runs on.
struct RequestIDJSON: Encodable {
    let request_id: String
}
