import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WireProtocol

/// `/instances`: the filterable list, create, terminate and restart; `/instances/<id>`:
/// one instance with its state history, why it waits, and its log.
struct InstancesView {
    let portal: Portal

    static let filterKeys = ["state", "node", "group", "external_id", "q"]

    /// The list's filters, order and page, from the page's (or the live feed's) query.
    static func controls(_ query: FormData) -> ListControls {
        ListControls(
            path: "/instances",
            query: query,
            filterKeys: filterKeys,
            sortKeys: InstanceSearch.sortKeys,
            defaultDescending: true
        )
    }

    func register(on router: Router<GatewayContext>) {
        portal.page(
            router,
            "/instances",
            title: "Instances",
            section: "instances",
            live: { request in
                Self.controls(request.query).liveFeed(view: "instances")
            }
        ) { request in
            let filters = try await filterForm(request)
            let live = try await LiveFragment.render(try await listFragments(request))
            return "<p class=\"actions\"><a class=\"button\" href=\"/instances/new\">Create instance</a></p>" + filters
                + live
        }
        portal.page(router, "/instances/new", title: "Create instance", section: "instances") { request in
            try await createForm(request)
        }
        portal.action(router, "/instances") { request, form in
            var body = StartInstancesRequest()
            guard let template = form["template"] else { throw GatewayError(.badRequest, "Choose a template.") }
            body.templateID = template
            body.tag = form["tag"]
            body.count = try form.int("count", label: "Count", in: 1...100) ?? 1
            body.priority = try form.int("priority", label: "Priority", in: 1...10_000)
            body.groupID = form["group_id"] ?? ""
            body.name = form["name"] ?? ""
            body.externalID = form["external_id"] ?? ""
            if let script = form.raw("startup_script"), !script.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            {
                body.options.startupScript = Array(script.replacingOccurrences(of: "\r\n", with: "\n").utf8)
                body.options.scriptMonitoring = form["script_monitoring"] == "1"
            }
            let ids: IDList = try await portal.client.rpc(
                RPCCatalog.startInstances,
                principal: request.principal,
                body: body
            )
            if ids.ids.count == 1 {
                return PortalOutcome(
                    redirect: "/instances/\(PortalLayout.percentEncoded(ids.ids[0]))",
                    message: "Instance \(ids.ids[0]) requested."
                )
            }
            return PortalOutcome(redirect: "/instances", message: "\(ids.ids.count) instances requested.")
        }
        let lifecycle: [(path: String, verb: String, method: RPC<IDQuery, Empty>, done: String)] = [
            ("terminate", "Terminate", RPCCatalog.terminateInstance, "is terminating"),
            ("restart", "Restart", RPCCatalog.restartInstance, "is restarting"),
        ]
        for action in lifecycle {
            portal.action(
                router,
                RouterPath("/instances/:id/\(action.path)"),
                confirm: { request, _ in "\(action.verb) instance \(request.parameter())?" },
                perform: { request, form in
                    let id = request.parameter()
                    let _: Empty = try await portal.client.rpc(
                        action.method,
                        principal: request.principal,
                        body: IDQuery(id: id)
                    )
                    return PortalOutcome(
                        redirect: Portal.safeRedirect(form["_back"]) ?? "/instances",
                        message: "Instance \(id) \(action.done)."
                    )
                }
            )
        }
        portal.page(
            router,
            "/instances/:id",
            title: "Instance",
            section: "instances",
            live: Portal.detailFeed("instance")
        ) { request in
            let id = request.parameter()
            return try await LiveFragment.render(try await detailFragments(request, id: id))
        }
        router.get("/instances/:id/log") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            let session = portal.session(of: request)
            guard let principal = await portal.principal(for: request, session: session, channel: context.channel)
            else {
                return portal.loginRedirect(request, session: nil)
            }
            return try await download(id: id, principal: principal)
        }
    }

    // MARK: list

    private func filterForm(_ request: PortalRequest) async throws -> HTML {
        let query = request.query
        // A fleet's worth of nodes makes no drop-down: past one page of them, the node is typed.
        let nodes: SearchPage<NodeRecord>? = try await PortalData.permitted {
            try await portal.client.rpc(
                RPCCatalog.searchNodes,
                principal: request.principal,
                body: NodeSearch(limit: NodeSearch.maximumLimit)
            )
        }
        let groups: GroupList? = try await PortalData.permitted {
            try await portal.client.rpc(RPCCatalog.listGroups, principal: request.principal, body: Empty())
        }
        let states = InstanceState.allCases.filter { $0 != .terminated }.map(\.description) + ["Terminated"]
        let stateOptions = states.html { PortalLayout.option($0, label: $0, selected: query["state"] == $0) }
        let nodeField: HTML
        if let nodes, nodes.matching > nodes.items.count {
            nodeField = "<input id=\"f-node\" name=\"node\" placeholder=\"node id\" value=\"\(query["node"] ?? "")\">"
        } else {
            let nodeOptions = (nodes?.items ?? []).html {
                PortalLayout.option(
                    $0.nodeID,
                    label: $0.name.isEmpty ? $0.nodeID : $0.name,
                    selected: query["node"] == $0.nodeID
                )
            }
            nodeField = "<select id=\"f-node\" name=\"node\"><option value=\"\">Any node</option>\(nodeOptions)</select>"
        }
        let groupOptions = (groups?.groups ?? []).html {
            PortalLayout.option($0.id, label: $0.name, selected: query["group"] == $0.id)
        }
        return """
            <form method="get" action="/instances" class="filters" role="search" aria-label="Filter instances">
            <label for="f-q">Search<input id="f-q" name="q" type="search" placeholder="id, name, external id" value="\(query["q"] ?? "")"></label>
            <label for="f-state">State<select id="f-state" name="state"><option value="">Any live state</option>\(stateOptions)</select></label>
            <label for="f-node">Node\(nodeField)</label>
            <label for="f-group">Group<select id="f-group" name="group"><option value="">Any group</option>\(groupOptions)</select></label>
            <label for="f-external">External id<input id="f-external" name="external_id" value="\(query["external_id"] ?? "")"></label>
            \(Self.controls(query).orderFields)<button type="submit">Filter</button> <a href="/instances">Clear</a>
            </form>
            """
    }

    func listFragments(_ request: PortalRequest) async throws -> [LiveFragment] {
        let query = request.query
        let controls = Self.controls(query)
        let result = try await portal.client.rpc(
            RPCCatalog.searchInstances,
            principal: request.principal,
            body: InstanceSearch(
                state: query["state"] ?? "",
                nodeID: query["node"] ?? "",
                groupID: query["group"] ?? "",
                externalID: query["external_id"] ?? "",
                text: query["q"] ?? "",
                sort: controls.sort,
                ascending: !controls.descending,
                offset: controls.offset,
                limit: ListControls.pageSize
            )
        )
        let back = controls.link([:])
        let rows = result.items.map { row(request, $0, back: back) }
        return [
            LiveFragment(
                id: "instances",
                html: controls.pager(
                    shown: result.items.count,
                    matching: result.matching,
                    total: result.total,
                    noun: "instances"
                )
                    + PortalLayout.table(
                        caption: "Instances",
                        headerCells: [
                            controls.header("Instance", sort: "name"), controls.header("State", sort: "state"),
                            controls.header("Template", sort: "template"), controls.header("Node", sort: "node"),
                            controls.header("Group"), controls.header("External id", sort: "external_id"),
                            controls.header("Created", sort: "created"), controls.header("Actions"),
                        ],
                        rows: rows,
                        empty: "No instances match."
                    )
            )
        ]
    }

    private func row(_ request: PortalRequest, _ instance: InstanceRecord, back: String) -> HTML {
        let path = "/instances/\(PortalLayout.percentEncoded(instance.instanceID))"
        var actions = HTML.empty
        if instance.state != .terminated && instance.state != .terminating {
            actions = PortalLayout.button(
                request,
                action: "\(path)/terminate",
                label: "Terminate",
                style: "danger",
                accessibleLabel: "Terminate \(instance.instanceID)"
            )
        }
        return PortalLayout.cells([
            "<a href=\"\(path)\">\(instance.instanceID)</a>\(instance.name.isEmpty ? "" : "<br><small>\(instance.name)</small>" as HTML)",
            Self.state(instance),
            "\(instance.templateName.isEmpty ? instance.templateID : instance.templateName):\(instance.tag)",
            instance.nodeID.isEmpty
                ? "—" : "<a href=\"/nodes/\(PortalLayout.percentEncoded(instance.nodeID))\">\(instance.nodeID)</a>",
            "\(instance.groupID)",
            "\(instance.externalID)",
            PortalLayout.time(micros: instance.createdMicros),
            actions,
        ])
    }

    static func state(_ instance: InstanceRecord) -> HTML {
        var html = PortalLayout.badge(instance.state.description)
        if instance.state == .pulling || instance.state == .pushing {
            let percent = Int((instance.progress * 100).rounded())
            html =
                html
                + " <progress max=\"100\" value=\"\(percent)\" aria-label=\"\(instance.state.description) progress\">\(percent)%</progress> \(percent)%"
        }
        if instance.state == .scheduling, !instance.waitReason.isEmpty {
            html = html + "<br><small>Waiting: \(instance.waitReason)</small>"
        }
        if instance.state == .error, !instance.message.isEmpty {
            html = html + "<br><small>\(instance.message)</small>"
        }
        return html
    }

    // MARK: create

    private func createForm(_ request: PortalRequest) async throws -> HTML {
        let templates: TemplateList = try await portal.client.rpc(
            RPCCatalog.listTemplates,
            principal: request.principal,
            body: IDQuery()
        )
        let groups: GroupList? = try await PortalData.permitted {
            try await portal.client.rpc(RPCCatalog.listGroups, principal: request.principal, body: Empty())
        }
        let query = request.query
        let templateOptions = templates.templates.html {
            PortalLayout.option($0.id, label: "\($0.name) (\($0.arch))", selected: query["template"] == $0.id)
        }
        let tags = Set(templates.templates.flatMap { $0.versions.map(\.tag) }).sorted()
        let tagOptions = tags.html { "<option value=\"\($0)\"></option>" }
        let groupOptions = (groups?.groups ?? []).html { PortalLayout.option($0.id, label: $0.name, selected: false) }
        return """
            <form method="post" action="/instances" class="stack">\(PortalLayout.formFields(request, back: "/instances/new"))
            <label for="template">Template<select id="template" name="template" required>\(templateOptions)</select></label>
            <label for="tag">Tag (empty: the latest)<input id="tag" name="tag" list="tags"></label>
            <datalist id="tags">\(tagOptions)</datalist>
            <label for="count">Count<input id="count" name="count" type="number" min="1" max="100" value="1"></label>
            <label for="priority">Priority (1 is first; empty: 1000)<input id="priority" name="priority" type="number" min="1" max="10000"></label>
            <label for="group_id">Node group<select id="group_id" name="group_id"><option value="">Any node</option>\(groupOptions)</select></label>
            <label for="name">Name<input id="name" name="name"></label>
            <label for="external_id">External id<input id="external_id" name="external_id"></label>
            <label for="startup_script">Startup script (runs in the instance once it has started)<textarea id="startup_script" name="startup_script" spellcheck="false"></textarea></label>
            <label class="check"><input type="checkbox" name="script_monitoring" value="1"> Monitor the script: Started only after it succeeds</label>
            <div><button type="submit" class="primary">Create</button> <a href="/instances">Cancel</a></div>
            </form>
            """
    }

    // MARK: detail

    func detailFragments(_ request: PortalRequest, id: String) async throws -> [LiveFragment] {
        let list: InstanceList = try await portal.client.rpc(
            RPCCatalog.listInstances,
            principal: request.principal,
            body: InstanceQuery(id: id)
        )
        guard let instance = list.instances.first else { throw GatewayError(.notFound, "No such instance \(id)") }
        let history: InstanceHistory = try await portal.client.rpc(
            RPCCatalog.instanceHistory,
            principal: request.principal,
            body: IDQuery(id: id)
        )
        let path = "/instances/\(PortalLayout.percentEncoded(id))"
        var actions: [HTML] = []
        if instance.state != .terminated && instance.state != .terminating {
            if !instance.deleteLock {
                actions.append(
                    PortalLayout.button(request, action: "\(path)/terminate", label: "Terminate", style: "danger")
                )
            }
            if instance.state == .started || instance.state == .stopped || instance.state == .error {
                actions.append(PortalLayout.button(request, action: "\(path)/restart", label: "Restart"))
            }
        }
        actions.append(
            "<a class=\"button\" href=\"\(path)/log\" download>\(instance.state == .error ? "Download error log" : "Download log")</a>"
        )
        var facts: HTML = """
            <dt>Id</dt><dd>\(instance.instanceID)</dd>
            <dt>State</dt><dd id="instance-state">\(Self.state(instance))</dd>
            <dt>Template</dt><dd>\(instance.templateName.isEmpty ? instance.templateID : instance.templateName) : \(instance.tag) (version \(instance.version))</dd>
            <dt>Node</dt><dd>\(instance.nodeID.isEmpty ? "not placed yet" : instance.nodeID)</dd>
            <dt>Group</dt><dd>\(instance.groupID.isEmpty ? "any" : instance.groupID)</dd>
            <dt>Priority</dt><dd>\(instance.priority)</dd>
            <dt>Name</dt><dd>\(instance.name)</dd>
            <dt>External id</dt><dd>\(instance.externalID)</dd>
            <dt>Created</dt><dd>\(PortalLayout.time(micros: instance.createdMicros))</dd>
            """
        if !instance.message.isEmpty { facts = facts + "<dt>Message</dt><dd>\(instance.message)</dd>" }
        if !instance.tags.isEmpty { facts = facts + "<dt>Tags</dt><dd>\(instance.tags.joined(separator: ", "))</dd>" }
        if instance.deleteLock {
            facts = facts + "<dt>Delete lock</dt><dd>set: terminating is refused until it is cleared</dd>"
        }
        if !instance.stopReason.isEmpty {
            facts =
                facts
                + "<dt>Stop reason</dt><dd>\(instance.stopReason) by \(instance.stoppedBy), \(PortalLayout.time(micros: instance.stoppedAtMicros))</dd>"
        }
        if let info = instance.vmInfo {
            facts =
                facts
                + "<dt>Address</dt><dd>\(info.ip) on \(info.hostIP)\(info.vncPort > 0 ? ", VNC port \(info.vncPort)" : "")</dd>"
        }
        if let result = instance.scriptResult {
            facts =
                facts
                + "<dt>Startup script</dt><dd>exit code \(result.returnCode)\(result.didTimeout ? ", timed out" : "")\(result.errors.isEmpty ? "" : ": " + result.errors.joined(separator: "; "))</dd>"
        }
        let waiting: HTML =
            instance.state == .scheduling
            ? "<p class=\"flash error\" role=\"status\">Waiting: \(instance.waitReason.isEmpty ? "for the scheduler's next pass" : instance.waitReason)</p>"
            : .empty
        let historyRows = history.transitions.reversed().map { transition -> HTML in
            PortalLayout.cells([
                PortalLayout.time(micros: transition.tsMicros), PortalLayout.badge(transition.state),
                "\(transition.message)",
            ])
        }
        return [
            LiveFragment(
                id: "instance",
                html:
                    "\(waiting)<section class=\"panel\"><dl class=\"facts\">\(facts)</dl><div class=\"actions\">\(actions)</div></section>"
            ),
            LiveFragment(
                id: "instance-history",
                html: "<h2>State history</h2>"
                    + PortalLayout.table(
                        caption: "State history, newest first",
                        headers: ["When", "State", "Message"],
                        rows: historyRows,
                        empty: "No history yet."
                    )
            ),
            LiveFragment(id: "instance-log", html: try await logTail(request.principal, instance: instance)),
        ]
    }

    private func logTail(_ principal: Principal, instance: InstanceRecord) async throws -> HTML {
        guard !instance.nodeID.isEmpty, instance.state != .terminated else {
            return
                "<h2>Log</h2><p class=\"empty\">No log: the instance is \(instance.nodeID.isEmpty ? "not placed on a node" : "terminated").</p>"
        }
        do {
            let chunk: LogChunk = try await portal.client.rpc(
                RPCCatalog.instanceLog,
                principal: principal,
                body: LogRequest(requestID: 0, instanceID: instance.instanceID, offset: -16_384, limit: 16_384)
            )
            let text = String(decoding: chunk.data, as: UTF8.self)
            let note =
                chunk.totalSize > chunk.data.count ? "The last \(chunk.data.count) of \(chunk.totalSize) bytes." : ""
            return
                "<h2>Log</h2><p class=\"detail\">\(note)</p><pre class=\"log\" tabindex=\"0\" aria-label=\"Instance log\">\(text.isEmpty ? "(empty)" : text)</pre>"
        } catch let error as GatewayError where error.status != .unauthorized {
            return "<h2>Log</h2><p class=\"empty\">The log is not available: \(error.message)</p>"
        }
    }

    /// The error log Anka's portal offers: the instance, its state history and its node log.
    private func download(id: String, principal: Principal) async throws -> Response {
        let list: InstanceList = try await portal.client.rpc(
            RPCCatalog.listInstances,
            principal: principal,
            body: InstanceQuery(id: id)
        )
        guard let instance = list.instances.first else { throw GatewayError(.notFound, "No such instance \(id)") }
        let history: InstanceHistory = try await portal.client.rpc(
            RPCCatalog.instanceHistory,
            principal: principal,
            body: IDQuery(id: id)
        )
        var text = """
            Instance:   \(instance.instanceID)
            State:      \(instance.state)
            Message:    \(instance.message)
            Template:   \(instance.templateName) (\(instance.templateID)) tag \(instance.tag)
            Node:       \(instance.nodeID)
            Created:    \(AnkaJSON.timestamp(micros: instance.createdMicros))

            State history:

            """
        for transition in history.transitions {
            text += "\(AnkaJSON.timestamp(micros: transition.tsMicros))  \(transition.state)  \(transition.message)\n"
        }
        if let result = instance.scriptResult {
            text += "\nStartup script: exit code \(result.returnCode)\(result.didTimeout ? " (timed out)" : "")\n"
            for error in result.errors { text += "  error: \(error)\n" }
            text += "--- stdout\n\(result.stdout)\n--- stderr\n\(result.stderr)\n"
        }
        text += "\nNode log:\n"
        if instance.nodeID.isEmpty {
            text += "(the instance was never placed on a node)\n"
        } else {
            do {
                let chunk: LogChunk = try await portal.client.rpc(
                    RPCCatalog.instanceLog,
                    principal: principal,
                    body: LogRequest(requestID: 0, instanceID: id, offset: 0, limit: 4 << 20)
                )
                text += String(decoding: chunk.data, as: UTF8.self)
            } catch let error as GatewayError {
                text += "(not available: \(error.message))\n"
            }
        }
        var headers = Portal.securityHeaders
        headers[.contentType] = "text/plain; charset=utf-8"
        let name = instance.state == .error ? "\(id)-error.log" : "\(id).log"
        headers[.contentDisposition] =
            "attachment; filename=\"\(name.filter { $0.isLetter || $0.isNumber || "-_.".contains($0) })\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
