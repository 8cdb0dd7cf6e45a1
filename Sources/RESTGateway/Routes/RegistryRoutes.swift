import Foundation
import Hummingbird
import WireProtocol

/// `/api/v1/registry/vm` (list, show, delete) and `/api/v1/registry/revert`.
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
                var entry: [String: Any] = [
                    "number": version.number,
                    "tag": version.tag,
                    "description": version.description,
                    "images": [String](),
                    "state_files": [String](),
                    "config_file": "\(template.id).yaml",
                    "nvram": "nvram",
                ]
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
