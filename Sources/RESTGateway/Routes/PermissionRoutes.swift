import Foundation
import Hummingbird
import WireProtocol

/// Permission groups under `/admin`, served under both spellings Anka's docs use:
/// `/admin/api/v1/...` and `/admin/v1/api/...`.
///
/// Documented by Anka: the resource permission catalogue and a group's resources.
/// Berth's own design (Anka has no API for it): creating, listing, updating and deleting
/// groups and setting their controller permissions. See `docs/permissions.md`.
struct PermissionRoutes {
    let client: ControlPlaneClient

    static let prefixes = ["/admin/api/v1", "/admin/v1/api"]

    func register(on router: Router<GatewayContext>) {
        for prefix in Self.prefixes { register(prefix: prefix + "/permission", on: router) }
    }

    private func register(prefix: String, on router: Router<GatewayContext>) {
        router.get("\(prefix)/resources/permissions") { _, context -> Response in
            let catalogue: PermissionCatalogue = try await client.rpc(
                RPCCatalog.permissionCatalogue,
                principal: context.principal,
                body: Empty()
            )
            return AnkaJSON.ok(Self.resourceCatalogueJSON(catalogue))
        }
        router.get("\(prefix)/permissions") { _, context -> Response in
            let catalogue: PermissionCatalogue = try await client.rpc(
                RPCCatalog.permissionCatalogue,
                principal: context.principal,
                body: Empty()
            )
            return AnkaJSON.ok(
                catalogue.entries.filter { $0.scope == "controller" }.map {
                    PermissionJSON(name: $0.name, category: $0.category, label: $0.label, description: $0.description)
                }
            )
        }

        // Resource permissions of one group (documented by Anka).
        router.get("\(prefix)/group/:name/resources") { _, context -> Response in
            let name = try Self.groupName(context)
            let resources: GroupResources = try await client.rpc(
                RPCCatalog.listGroupResources,
                principal: context.principal,
                body: IDQuery(id: name)
            )
            return AnkaJSON.ok(resources.resources.map(Self.resourceJSON))
        }
        router.post("\(prefix)/group/:name/resources") { request, context -> Response in
            let name = try Self.groupName(context)
            let grants = try await RequestJSON.readArray(request).map(Self.resourceGrant)
            let _: Empty = try await client.rpc(
                RPCCatalog.setGroupResources,
                principal: context.principal,
                body: GroupResources(group: name, resources: grants)
            )
            return AnkaJSON.ok(message: "Saved")
        }

        // Groups and their controller permissions (Berth's design).
        router.get("\(prefix)/group") { request, context -> Response in
            try await list(name: request.uri.queryParameters.get("name") ?? "", context: context)
        }
        router.get("\(prefix)/groups") { request, context -> Response in
            try await list(name: request.uri.queryParameters.get("name") ?? "", context: context)
        }
        router.post("\(prefix)/group") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            guard let name = try json.string("name"), !name.isEmpty else {
                throw GatewayError(.badRequest, "name is required")
            }
            let record = PermissionGroupRecord(
                name: name,
                description: try json.string("description") ?? "",
                permissions: try json.stringArray("permissions") ?? []
            )
            let _: Empty = try await client.rpc(
                RPCCatalog.createPermissionGroup,
                principal: context.principal,
                body: record
            )
            return AnkaJSON.ok(message: "Saved")
        }
        router.delete("\(prefix)/group") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let name = try json.string("name") ?? request.uri.queryParameters.get("name") ?? ""
            guard !name.isEmpty else { throw GatewayError(.badRequest, "name is required") }
            return try await delete(name: name, context: context)
        }
        router.get("\(prefix)/group/:name") { _, context -> Response in
            let groups: PermissionGroupList = try await client.rpc(
                RPCCatalog.listPermissionGroups,
                principal: context.principal,
                body: IDQuery(id: try Self.groupName(context))
            )
            return AnkaJSON.ok(groups.groups.first.map(Self.groupJSON) ?? PermissionGroupJSON.empty)
        }
        router.put("\(prefix)/group/:name") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let update = PermissionGroupUpdate(
                name: try Self.groupName(context),
                description: try json.string("description"),
                permissions: try json.stringArray("permissions")
            )
            let _: Empty = try await client.rpc(
                RPCCatalog.updatePermissionGroup,
                principal: context.principal,
                body: update
            )
            return AnkaJSON.ok(message: "Saved")
        }
        router.delete("\(prefix)/group/:name") { _, context -> Response in
            try await delete(name: try Self.groupName(context), context: context)
        }
        router.get("\(prefix)/group/:name/permissions") { _, context -> Response in
            let name = try Self.groupName(context)
            let groups: PermissionGroupList = try await client.rpc(
                RPCCatalog.listPermissionGroups,
                principal: context.principal,
                body: IDQuery(id: name)
            )
            return AnkaJSON.ok(groups.groups.first?.permissions ?? [])
        }
        for method in [HTTPRequest.Method.post, .put] {
            router.on("\(prefix)/group/:name/permissions", method: method) { request, context -> Response in
                let names = try await Self.permissionNames(request)
                let update = PermissionGroupUpdate(
                    name: try Self.groupName(context),
                    permissions: names,
                    createIfMissing: true
                )
                let _: Empty = try await client.rpc(
                    RPCCatalog.updatePermissionGroup,
                    principal: context.principal,
                    body: update
                )
                return AnkaJSON.ok(message: "Saved")
            }
        }
    }

    private func list(name: String, context: GatewayContext) async throws -> Response {
        let groups: PermissionGroupList = try await client.rpc(
            RPCCatalog.listPermissionGroups,
            principal: context.principal,
            body: IDQuery(id: name)
        )
        return AnkaJSON.ok(groups.groups.map(Self.groupJSON))
    }

    private func delete(name: String, context: GatewayContext) async throws -> Response {
        let _: Empty = try await client.rpc(
            RPCCatalog.deletePermissionGroup,
            principal: context.principal,
            body: IDQuery(id: name)
        )
        return AnkaJSON.ok()
    }

    // MARK: JSON

    static func groupName(_ context: GatewayContext) throws -> String {
        let raw = try context.parameters.require("name")
        return raw.removingPercentEncoding ?? raw
    }

    /// A JSON array of names, or an object `{"permissions":[...]}`.
    static func permissionNames(_ request: Request) async throws -> [String] {
        var request = request
        let buffer = try await request.collectBody(upTo: RequestJSON.maxBodySize)
        let data = Data(buffer.readableBytesView)
        let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        if let array = value as? [Any] {
            return try array.map {
                guard let name = $0 as? String else {
                    throw GatewayError(.badRequest, "permissions must be an array of strings")
                }
                return name
            }
        }
        if let object = value as? [String: Any], let names = try RequestJSON(fields: object).stringArray("permissions")
        {
            return names
        }
        throw GatewayError(.badRequest, "request body must be a JSON array of permission names")
    }

    static func resourceGrant(_ json: RequestJSON) throws -> ResourceGrant {
        guard let id = try json.string("id"), !id.isEmpty else {
            throw GatewayError(.badRequest, "every resource needs an id")
        }
        guard let type = try json.string("type"), !type.isEmpty else {
            throw GatewayError(.badRequest, "every resource needs a type (node or template)")
        }
        return ResourceGrant(
            id: id,
            idType: try json.string("id_type") ?? "id",
            type: type,
            permissions: try json.stringArray("permissions") ?? []
        )
    }

    static func resourceJSON(_ grant: ResourceGrant) -> ResourceJSON {
        ResourceJSON(id: grant.id, id_type: grant.idType, type: grant.type, permissions: grant.permissions)
    }

    static func groupJSON(_ group: PermissionGroupRecord) -> PermissionGroupJSON {
        PermissionGroupJSON(
            name: group.name,
            description: group.description,
            permissions: group.permissions,
            resources: group.resources.map(resourceJSON)
        )
    }

    /// Anka's shape: one object per resource type, permissions keyed by name.
    static func resourceCatalogueJSON(_ catalogue: PermissionCatalogue) -> [ResourceTypeJSON] {
        var order: [String] = []
        var byType: [String: [String: ResourceTypeJSON.Permission]] = [:]
        for entry in catalogue.entries where entry.scope != "controller" {
            if byType[entry.scope] == nil { order.append(entry.scope) }
            byType[entry.scope, default: [:]][entry.name] = .init(label: entry.label, description: entry.description)
        }
        return order.map { ResourceTypeJSON(resource_type: $0, permissions: byType[$0] ?? [:]) }
    }

    struct PermissionJSON: Encodable {
        let name: String
        let category: String
        let label: String
        let description: String
    }

    struct ResourceJSON: Encodable {
        let id: String
        let id_type: String
        let type: String
        let permissions: [String]
    }

    /// A permission group; `{}` when the asked-for group does not exist, as Anka answers.
    struct PermissionGroupJSON: Encodable {
        static let empty = PermissionGroupJSON(name: nil, description: nil, permissions: nil, resources: nil)

        let name: String?
        let description: String?
        let permissions: [String]?
        let resources: [ResourceJSON]?
    }

    struct ResourceTypeJSON: Encodable {
        struct Permission: Encodable {
            let label: String
            let description: String
        }

        let resource_type: String
        let permissions: [String: Permission]
    }
}
