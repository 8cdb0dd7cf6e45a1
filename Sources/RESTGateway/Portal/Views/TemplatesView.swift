import Foundation
import Hummingbird
import WireProtocol

/// `/templates` and `/templates/<id>`: the registry's templates and tags; distribution to
/// nodes with live per-node progress; delete and revert, each confirmed first.
struct TemplatesView {
    let portal: Portal

    func register(on router: Router<GatewayContext>) {
        portal.page(
            router,
            "/templates",
            title: "Templates",
            section: "templates",
            live: { _ in "/live?view=templates" }
        ) {
            request in
            try await LiveFragment.render(try await listFragments(request))
        }
        portal.page(
            router,
            "/templates/:id",
            title: "Template",
            section: "templates",
            live: Portal.detailFeed("template")
        ) { request in
            let template = try await template(request, id: request.parameter())
            let live = try await LiveFragment.render(try await detailFragments(request, template: template))
            return live + (try await forms(request, template: template))
        }
        portal.action(
            router,
            "/templates/:id/distribute",
            confirm: { request, form in
                let id = request.parameter()
                let tag = form["tag"].map { "tag \($0)" } ?? "the latest tag"
                switch form["target"] {
                case "nodes": return "Distribute \(tag) of \(id) to \(form.values("node").count) chosen nodes?"
                case "group": return "Distribute \(tag) of \(id) to the nodes of group \(form["group_id"] ?? "")?"
                default: return "Distribute \(tag) of \(id) to all nodes?"
                }
            },
            perform: { request, form in
                let id = request.parameter()
                var body = DistributeRequest()
                body.templateID = id
                body.tag = form["tag"] ?? ""
                switch form["target"] {
                case "nodes":
                    body.nodeIDs = form.values("node")
                    guard !body.nodeIDs.isEmpty else { throw GatewayError(.badRequest, "Choose at least one node.") }
                case "group":
                    guard let group = form["group_id"] else { throw GatewayError(.badRequest, "Choose a group.") }
                    body.groupID = group
                default:
                    break
                }
                let answer: IDQuery = try await portal.client.rpc(
                    RPCCatalog.distributeTemplate,
                    principal: request.principal,
                    body: body
                )
                return PortalOutcome(
                    redirect: "/templates/\(PortalLayout.percentEncoded(id))#distributions",
                    message: "Distribution \(answer.id) requested."
                )
            }
        )
        portal.action(
            router,
            "/templates/:id/distributions/:request/cancel",
            confirm: { request, _ in "Cancel distribution \(request.parameter("request"))?" },
            perform: { request, _ in
                let id = request.parameter()
                let distribution = request.parameter("request")
                let _: Empty = try await portal.client.rpc(
                    RPCCatalog.cancelDistribution,
                    principal: request.principal,
                    body: IDQuery(id: distribution)
                )
                return PortalOutcome(
                    redirect: "/templates/\(PortalLayout.percentEncoded(id))",
                    message: "Distribution \(distribution) cancelled."
                )
            }
        )
        portal.action(
            router,
            "/templates/:id/revert",
            confirm: { request, form in
                let id = request.parameter()
                return "Revert \(id) to tag \(form["tag"] ?? "?")? Every newer version is deleted."
            },
            perform: { request, form in
                let id = request.parameter()
                guard let tag = form["tag"] else { throw GatewayError(.badRequest, "Choose a tag.") }
                let removed: IDList = try await portal.client.rpc(
                    RPCCatalog.revertTemplate,
                    principal: request.principal,
                    body: RevertTemplateRequest(id: id, tag: tag)
                )
                return PortalOutcome(
                    redirect: "/templates/\(PortalLayout.percentEncoded(id))",
                    message: "Reverted to \(tag); \(removed.ids.count) newer versions deleted."
                )
            }
        )
        portal.action(
            router,
            "/templates/:id/delete",
            confirm: { request, _ in
                "Delete template \(request.parameter()) with every tag? This cannot be undone."
            },
            perform: { request, _ in
                let id = request.parameter()
                let _: Empty = try await portal.client.rpc(
                    RPCCatalog.deleteTemplate,
                    principal: request.principal,
                    body: IDQuery(id: id)
                )
                return PortalOutcome(redirect: "/templates", message: "Template \(id) deleted.")
            }
        )
    }

    func listFragments(_ request: PortalRequest) async throws -> [LiveFragment] {
        let list: TemplateList = try await portal.client.rpc(
            RPCCatalog.listTemplates,
            principal: request.principal,
            body: IDQuery()
        )
        let rows = list.templates.sorted { $0.name < $1.name }.map { template -> HTML in
            let tags = template.versions.sorted { $0.number > $1.number }.map(\.tag)
            return PortalLayout.cells([
                "<a href=\"/templates/\(PortalLayout.percentEncoded(template.id))\">\(template.name)</a><br><small>\(template.id)</small>",
                "\(template.arch)",
                "\(tags.joined(separator: ", "))",
                "\(PortalLayout.bytes(template.sizeBytes))",
                PortalLayout.time(micros: template.lastPush * 1_000_000),
                PortalLayout.time(micros: template.lastPull * 1_000_000),
            ])
        }
        return [
            LiveFragment(
                id: "templates",
                html: PortalLayout.table(
                    caption: "Templates",
                    headers: ["Template", "Arch", "Tags (newest first)", "Size", "Last push", "Last pull"],
                    rows: rows,
                    empty: "The registry holds no templates yet."
                )
            )
        ]
    }

    private func template(_ request: PortalRequest, id: String) async throws -> TemplateRecord {
        let list: TemplateList = try await portal.client.rpc(
            RPCCatalog.listTemplates,
            principal: request.principal,
            body: IDQuery(id: id)
        )
        guard let template = list.templates.first else { throw GatewayError(.notFound, "No such template \(id)") }
        return template
    }

    func detailFragments(_ request: PortalRequest, id: String) async throws -> [LiveFragment] {
        try await detailFragments(request, template: try await template(request, id: id))
    }

    private func detailFragments(_ request: PortalRequest, template: TemplateRecord) async throws -> [LiveFragment] {
        let id = template.id
        let versionRows = template.versions.sorted { $0.number > $1.number }.map { version -> HTML in
            PortalLayout.cells([
                "\(version.tag)", "\(version.number)", "\(version.description)",
                "\(PortalLayout.bytes(version.sizeBytes))",
                PortalLayout.time(micros: version.lastPush * 1_000_000),
                PortalLayout.time(micros: version.lastPull * 1_000_000),
            ])
        }
        let distributions: DistributionList? = try await PortalData.permitted {
            try await portal.client.rpc(RPCCatalog.listDistributions, principal: request.principal, body: IDQuery())
        }
        let mine = (distributions?.distributions ?? []).filter { $0.templateID == id }
            .sorted { $0.requestedAtMicros > $1.requestedAtMicros }.prefix(10)
        let distributionHTML = mine.html { distribution(request, $0, templateID: id) }
        return [
            LiveFragment(
                id: "template",
                html: """
                    <section class="panel"><h2>\(template.name)</h2><dl class="facts">
                    <dt>Id</dt><dd>\(template.id)</dd><dt>Arch</dt><dd>\(template.arch)</dd>
                    <dt>Size</dt><dd>\(PortalLayout.bytes(template.sizeBytes))</dd>
                    </dl></section>
                    <h2>Tags</h2>
                    \(PortalLayout.table(caption: "Versions, newest first", headers: ["Tag", "Version", "Description", "Size", "Pushed", "Last pull"], rows: versionRows, empty: "No versions."))
                    """
            ),
            LiveFragment(
                id: "distributions",
                html: "<h2 id=\"distributions\">Distributions</h2>"
                    + (mine.isEmpty
                        ? "<p class=\"empty\">No distributions of this template yet.</p>" : distributionHTML)
            ),
        ]
    }

    private func distribution(_ request: PortalRequest, _ record: DistributionRecord, templateID: String) -> HTML {
        let rows = record.nodes.map { node -> HTML in
            let status =
                node.done
                ? "done"
                : !node.error.isEmpty
                    ? "failed" : record.cancelled ? "cancelled" : node.progress > 0 ? "pulling" : "pending"
            let percent = Int((node.progress * 100).rounded())
            return PortalLayout.cells([
                "<a href=\"/nodes/\(PortalLayout.percentEncoded(node.nodeID))\">\(node.nodeID)</a>",
                PortalLayout.badge(status),
                "<progress max=\"100\" value=\"\(node.done ? 100 : percent)\" aria-label=\"Progress on \(node.nodeID)\"></progress> \(node.done ? 100 : percent)%",
                "\(PortalLayout.bytes(node.bytesFetched))",
                "\(node.error)",
            ])
        }
        let finished = record.cancelled || record.nodes.allSatisfy { $0.done || !$0.error.isEmpty }
        let cancel: HTML =
            finished
            ? .empty
            : PortalLayout.button(
                request,
                action:
                    "/templates/\(PortalLayout.percentEncoded(templateID))/distributions/\(PortalLayout.percentEncoded(record.id))/cancel",
                label: "Cancel"
            )
        return """
            <section class="panel distribution" aria-label="Distribution \(record.id)">
            <p><strong>\(record.tag)</strong> requested \(PortalLayout.time(micros: record.requestedAtMicros)) · <small>\(record.id)</small>\(record.cancelled ? " · cancelled" : "") \(cancel)</p>
            \(PortalLayout.table(caption: "Per-node progress", headers: ["Node", "Status", "Progress", "Fetched", "Error"], rows: rows, empty: "No nodes matched."))
            </section>
            """
    }

    private func forms(_ request: PortalRequest, template: TemplateRecord) async throws -> HTML {
        let id = template.id
        let nodes: NodeList? = try await PortalData.permitted {
            try await portal.client.rpc(RPCCatalog.listNodes, principal: request.principal, body: IDQuery())
        }
        let groups: GroupList? = try await PortalData.permitted {
            try await portal.client.rpc(RPCCatalog.listGroups, principal: request.principal, body: Empty())
        }
        let path = "/templates/\(PortalLayout.percentEncoded(id))"
        let tags = template.versions.sorted { $0.number > $1.number }.map(\.tag)
        let tagOptions = tags.html { PortalLayout.option($0, label: $0, selected: false) }
        let nodeBoxes = (nodes?.nodes ?? []).html { node in
            "<label class=\"check\"><input type=\"checkbox\" name=\"node\" value=\"\(node.nodeID)\"> \(node.name.isEmpty ? node.nodeID : node.name) (\(node.state))</label>"
        }
        let groupOptions = (groups?.groups ?? []).html { PortalLayout.option($0.id, label: $0.name, selected: false) }
        return """
            <div class="panels">
            <section class="panel" aria-labelledby="distribute-title">
            <h2 id="distribute-title">Distribute</h2>
            <form method="post" action="\(path)/distribute" class="stack">\(PortalLayout.formFields(request))
            <label for="d-tag">Tag<select id="d-tag" name="tag">\(tagOptions)</select></label>
            <fieldset><legend>To</legend>
            <label class="check"><input type="radio" name="target" value="all" checked> All nodes</label>
            <label class="check"><input type="radio" name="target" value="group"> The nodes of a group</label>
            <label for="d-group">Group<select id="d-group" name="group_id"><option value="">—</option>\(groupOptions)</select></label>
            <label class="check"><input type="radio" name="target" value="nodes"> Chosen nodes</label>
            <fieldset><legend>Nodes</legend>\(nodeBoxes)</fieldset>
            </fieldset>
            <div><button type="submit" class="primary" id="distribute-button">Distribute</button></div>
            </form>
            </section>
            <section class="panel" aria-labelledby="manage-title">
            <h2 id="manage-title">Revert or delete</h2>
            <form method="post" action="\(path)/revert" class="stack">\(PortalLayout.formFields(request))
            <label for="r-tag">Revert to tag<select id="r-tag" name="tag">\(tagOptions)</select></label>
            <div><button type="submit">Revert</button></div>
            </form>
            <p>\(PortalLayout.button(request, action: "\(path)/delete", label: "Delete template", style: "danger"))</p>
            </section>
            </div>
            """
    }
}
