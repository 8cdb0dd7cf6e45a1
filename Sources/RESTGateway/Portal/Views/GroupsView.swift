import Hummingbird
import WireProtocol

/// `/groups`: node groups, created, edited and deleted here.
struct GroupsView {
    let portal: Portal

    func register(on router: Router<GatewayContext>) {
        portal.page(router, "/groups", title: "Groups", section: "groups") { request in
            let groups: GroupList = try await portal.client.rpc(
                RPCCatalog.listGroups,
                principal: request.principal,
                body: Empty()
            )
            let names = Dictionary(uniqueKeysWithValues: groups.groups.map { ($0.id, $0.name) })
            let nodes: NodeList? = try await PortalData.permitted {
                try await portal.client.rpc(RPCCatalog.listNodes, principal: request.principal, body: IDQuery())
            }
            var members: [String: Int] = [:]
            for node in nodes?.nodes ?? [] { for group in node.groups { members[group.id, default: 0] += 1 } }
            let rows = groups.groups.sorted { $0.name < $1.name }.map { group -> HTML in
                PortalLayout.cells([
                    "<a href=\"/groups/\(PortalLayout.percentEncoded(group.id))\">\(group.name)</a><br><small>\(group.id)</small>",
                    "\(group.description)",
                    "\(group.fallbackGroupID.flatMap { names[$0] } ?? "—")",
                    "\(members[group.id] ?? 0)",
                ])
            }
            return PortalLayout.table(
                caption: "Node groups",
                headers: ["Group", "Description", "Fallback group", "Nodes"],
                rows: rows,
                empty: "No groups yet."
            ) + form(request, groups: groups.groups, editing: nil)
        }
        portal.page(router, "/groups/:id", title: "Edit group", section: "groups") { request in
            let id = request.parameter()
            let groups: GroupList = try await portal.client.rpc(
                RPCCatalog.listGroups,
                principal: request.principal,
                body: Empty()
            )
            guard let group = groups.groups.first(where: { $0.id == id }) else {
                throw GatewayError(.notFound, "No such group \(id)")
            }
            return form(request, groups: groups.groups, editing: group)
                + "<p>\(PortalLayout.button(request, action: "/groups/\(PortalLayout.percentEncoded(id))/delete", label: "Delete group", style: "danger"))</p>"
        }
        portal.action(router, "/groups") { request, form in
            guard let name = form["name"] else { throw GatewayError(.badRequest, "Enter a name.") }
            let created: GroupRecord = try await portal.client.rpc(
                RPCCatalog.createGroup,
                principal: request.principal,
                body: GroupRecord(name: name, description: form["description"] ?? "", fallbackGroupID: form["fallback"])
            )
            return PortalOutcome(redirect: "/groups", message: "Group \(created.name) created.")
        }
        portal.action(router, "/groups/:id") { request, form in
            let id = request.parameter()
            var body = GroupUpdateRequest(id: id)
            guard let name = form["name"] else { throw GatewayError(.badRequest, "Enter a name.") }
            body.name = name
            body.description = form.raw("description") ?? ""
            body.fallbackGroupID = form["fallback"] ?? ""
            let _: Empty = try await portal.client.rpc(RPCCatalog.updateGroup, principal: request.principal, body: body)
            return PortalOutcome(redirect: "/groups", message: "Group \(name) saved.")
        }
        portal.action(
            router,
            "/groups/:id/delete",
            confirm: { request, _ in
                "Delete group \(request.parameter())? Its nodes leave it; instances waiting for it stay queued."
            },
            perform: { request, _ in
                let id = request.parameter()
                let _: Empty = try await portal.client.rpc(
                    RPCCatalog.deleteGroup,
                    principal: request.principal,
                    body: IDQuery(id: id)
                )
                return PortalOutcome(redirect: "/groups", message: "Group \(id) deleted.")
            }
        )
    }

    private func form(_ request: PortalRequest, groups: [GroupRecord], editing: GroupRecord?) -> HTML {
        let action = editing.map { "/groups/\(PortalLayout.percentEncoded($0.id))" } ?? "/groups"
        let fallback = groups.filter { $0.id != editing?.id }.html {
            PortalLayout.option($0.id, label: $0.name, selected: editing?.fallbackGroupID == $0.id)
        }
        return """
            <section class="panel" aria-labelledby="group-form-title">
            <h2 id="group-form-title">\(editing == nil ? "New group" : "Edit \(editing?.name ?? "")")</h2>
            <form method="post" action="\(action)" class="stack">\(PortalLayout.formFields(request, back: editing == nil ? "/groups" : action))
            <label for="g-name">Name<input id="g-name" name="name" required value="\(editing?.name ?? "")"></label>
            <label for="g-description">Description<input id="g-description" name="description" value="\(editing?.description ?? "")"></label>
            <label for="g-fallback">Fallback group (used when this one has no room)<select id="g-fallback" name="fallback"><option value="">None</option>\(fallback)</select></label>
            <div><button type="submit" class="primary">\(editing == nil ? "Create group" : "Save")</button></div>
            </form>
            </section>
            """
    }
}
