import Hummingbird
import WireProtocol

/// `/permission-groups`: permission groups and their controller permissions.
struct PermissionGroupsView {
    let portal: Portal

    func register(on router: Router<GatewayContext>) {
        portal.page(router, "/permission-groups", title: "Permission groups", section: "permission-groups") { request in
            let groups: PermissionGroupList = try await portal.client.rpc(
                RPCCatalog.listPermissionGroups,
                principal: request.principal,
                body: IDQuery()
            )
            let rows = groups.groups.sorted { $0.name < $1.name }.map { group -> HTML in
                PortalLayout.cells([
                    "<a href=\"/permission-groups/\(PortalLayout.percentEncoded(group.name))\">\(group.name)</a>",
                    "\(group.description)",
                    "\(group.permissions.count == 0 ? "none" : group.permissions.joined(separator: ", "))",
                ])
            }
            return PortalLayout.table(
                caption: "Permission groups",
                headers: ["Group", "Description", "Permissions"],
                rows: rows,
                empty: "No permission groups yet."
            )
                + (try await form(request, editing: nil))
        }
        portal.page(router, "/permission-groups/:name", title: "Edit permission group", section: "permission-groups") {
            request in
            let name = request.parameter("name")
            let groups: PermissionGroupList = try await portal.client.rpc(
                RPCCatalog.listPermissionGroups,
                principal: request.principal,
                body: IDQuery(id: name)
            )
            guard let group = groups.groups.first(where: { $0.name == name }) else {
                throw GatewayError(.notFound, "No such permission group \(name)")
            }
            return try await form(request, editing: group)
                + "<p>\(PortalLayout.button(request, action: "/permission-groups/\(PortalLayout.percentEncoded(name))/delete", label: "Delete permission group", style: "danger"))</p>"
        }
        portal.action(router, "/permission-groups") { request, form in
            guard let name = form["name"] else { throw GatewayError(.badRequest, "Enter a name.") }
            let record = PermissionGroupRecord(
                name: name,
                description: form["description"] ?? "",
                permissions: form.values("permission")
            )
            let _: Empty = try await portal.client.rpc(
                RPCCatalog.createPermissionGroup,
                principal: request.principal,
                body: record
            )
            return PortalOutcome(redirect: "/permission-groups", message: "Permission group \(name) created.")
        }
        portal.action(router, "/permission-groups/:name") { request, form in
            let name = request.parameter("name")
            let update = PermissionGroupUpdate(
                name: name,
                description: form.raw("description") ?? "",
                permissions: form.values("permission")
            )
            let _: Empty = try await portal.client.rpc(
                RPCCatalog.updatePermissionGroup,
                principal: request.principal,
                body: update
            )
            return PortalOutcome(redirect: "/permission-groups", message: "Permission group \(name) saved.")
        }
        portal.action(
            router,
            "/permission-groups/:name/delete",
            confirm: { request, _ in
                "Delete permission group \(request.parameter("name"))? Keys and certificates in it lose its permissions at once."
            },
            perform: { request, _ in
                let name = request.parameter("name")
                let _: Empty = try await portal.client.rpc(
                    RPCCatalog.deletePermissionGroup,
                    principal: request.principal,
                    body: IDQuery(id: name)
                )
                return PortalOutcome(redirect: "/permission-groups", message: "Permission group \(name) deleted.")
            }
        )
    }

    private func form(_ request: PortalRequest, editing: PermissionGroupRecord?) async throws -> HTML {
        let catalogue: PermissionCatalogue? = try await PortalData.permitted {
            try await portal.client.rpc(RPCCatalog.permissionCatalogue, principal: request.principal, body: Empty())
        }
        let held = Set(editing?.permissions ?? [])
        let boxes = (catalogue?.entries ?? []).filter { $0.scope == "controller" }.enumerated().html { index, entry in
            let checked: HTML = held.contains(entry.name) ? " checked" : .empty
            return
                "<label class=\"check\"><input type=\"checkbox\" id=\"perm-\(index)\" name=\"permission\" value=\"\(entry.name)\"\(checked)> \(entry.name) <small>\(entry.label)</small></label>"
        }
        let action =
            editing.map { "/permission-groups/\(PortalLayout.percentEncoded($0.name))" } ?? "/permission-groups"
        let nameField: HTML =
            editing == nil ? "<label for=\"p-name\">Name<input id=\"p-name\" name=\"name\" required></label>" : .empty
        return """
            <section class="panel" aria-labelledby="perm-form-title">
            <h2 id="perm-form-title">\(editing == nil ? "New permission group" : "Edit \(editing?.name ?? "")")</h2>
            <form method="post" action="\(action)" class="stack">\(PortalLayout.formFields(request, back: action))
            \(nameField)
            <label for="p-description">Description<input id="p-description" name="description" value="\(editing?.description ?? "")"></label>
            <fieldset><legend>Controller permissions</legend>\(boxes)</fieldset>
            <div><button type="submit" class="primary">\(editing == nil ? "Create permission group" : "Save")</button></div>
            </form>
            </section>
            """
    }
}
