import Foundation
import Hummingbird
import WireProtocol

/// `/nodes` and `/nodes/<id>`: every node's state and load; capacity, drain mode, groups
/// and removal, each confirmed before it happens.
struct NodesView {
    let portal: Portal

    func register(on router: Router<GatewayContext>) {
        portal.page(
            router,
            "/nodes",
            title: "Nodes",
            section: "nodes",
            live: { request in
                Self.controls(request.query).liveFeed(view: "nodes")
            }
        ) { request in
            try await filterForm(request) + LiveFragment.render(try await listFragments(request))
        }
        portal.page(
            router,
            "/nodes/:id",
            title: "Node",
            section: "nodes",
            live: Portal.detailFeed("node")
        ) { request in
            let node = try await node(request, id: request.parameter())
            let live = try await LiveFragment.render(try await detailFragments(request, node: node))
            return live + (try await forms(request, node: node))
        }
        portal.action(
            router,
            "/nodes/:id/config",
            confirm: { request, form in
                let id = request.parameter()
                let count = form["max_vm_count"] ?? "unchanged"
                return
                    "Set the capacity of node \(id) to \(count) instances, counted by \(form["capacity_mode"] ?? "number")?"
            },
            perform: { request, form in
                let id = request.parameter()
                var body = NodeConfigRequest(nodeID: id)
                body.maxVMCount = try form.int("max_vm_count", label: "Capacity", in: 0...10_000)
                body.capacityMode = form["capacity_mode"]
                body.vcpuOverride = try form.int("vcpu_override", label: "vCPU override", in: 0...100_000) ?? 0
                body.ramOverride = try form.int("ram_override", label: "RAM override", in: 0...100_000_000) ?? 0
                let _: Empty = try await portal.client.rpc(
                    RPCCatalog.configureNode,
                    principal: request.principal,
                    body: body
                )
                return PortalOutcome(
                    redirect: "/nodes/\(PortalLayout.percentEncoded(id))",
                    message: "Capacity of \(id) saved."
                )
            }
        )
        portal.action(
            router,
            "/nodes/:id/drain",
            confirm: { request, form in
                let id = request.parameter()
                return form["drain"] == "1"
                    ? "Put node \(id) in drain mode? It takes no new instances; running ones are not touched."
                    : "Take node \(id) out of drain mode? It takes new instances again."
            },
            perform: { request, form in
                let id = request.parameter()
                var body = NodeConfigRequest(nodeID: id)
                body.drainMode = form["drain"] == "1"
                let _: Empty = try await portal.client.rpc(
                    RPCCatalog.configureNode,
                    principal: request.principal,
                    body: body
                )
                return PortalOutcome(
                    redirect: "/nodes/\(PortalLayout.percentEncoded(id))",
                    message: body.drainMode == true
                        ? "Node \(id) is in drain mode." : "Node \(id) is out of drain mode."
                )
            }
        )
        portal.action(
            router,
            "/nodes/:id/groups",
            confirm: { request, form in
                let id = request.parameter()
                let names = try await groupNames(request, ids: form.values("group"))
                return names.isEmpty
                    ? "Take node \(id) out of every group?"
                    : "Put node \(id) in exactly these groups: \(names.joined(separator: ", "))?"
            },
            perform: { request, form in
                let id = request.parameter()
                let list: NodeList = try await portal.client.rpc(
                    RPCCatalog.listNodes,
                    principal: request.principal,
                    body: IDQuery(id: id)
                )
                let current = Set(list.nodes.first?.groups.map(\.id) ?? [])
                let wanted = Set(form.values("group"))
                let adding = wanted.subtracting(current).sorted()
                let removing = current.subtracting(wanted).sorted()
                if !adding.isEmpty {
                    let _: Empty = try await portal.client.rpc(
                        RPCCatalog.addNodesToGroups,
                        principal: request.principal,
                        body: NodeGroupsRequest(nodeIDs: [id], groupIDs: adding)
                    )
                }
                if !removing.isEmpty {
                    let _: Empty = try await portal.client.rpc(
                        RPCCatalog.removeNodesFromGroups,
                        principal: request.principal,
                        body: NodeGroupsRequest(nodeIDs: [id], groupIDs: removing)
                    )
                }
                return PortalOutcome(
                    redirect: "/nodes/\(PortalLayout.percentEncoded(id))",
                    message: "Groups of \(id) saved."
                )
            }
        )
        portal.action(
            router,
            "/nodes/:id/delete",
            confirm: { request, _ in
                let id = request.parameter()
                return "Remove node \(id)? Its certificate is revoked; it must join again to come back."
            },
            perform: { request, _ in
                let id = request.parameter()
                let list: NodeList = try await portal.client.rpc(
                    RPCCatalog.listNodes,
                    principal: request.principal,
                    body: IDQuery(id: id)
                )
                guard list.nodes.first?.state == "Offline" else {
                    throw GatewayError(.conflict, "Only an offline node can be removed here; \(id) is connected.")
                }
                let _: Empty = try await portal.client.rpc(
                    RPCCatalog.deleteNode,
                    principal: request.principal,
                    body: IDQuery(id: id)
                )
                return PortalOutcome(redirect: "/nodes", message: "Node \(id) removed.")
            }
        )
    }

    private func groupNames(_ request: PortalRequest, ids: [String]) async throws -> [String] {
        let groups: GroupList = try await portal.client.rpc(
            RPCCatalog.listGroups,
            principal: request.principal,
            body: Empty()
        )
        let names = Dictionary(uniqueKeysWithValues: groups.groups.map { ($0.id, $0.name) })
        return ids.map { names[$0] ?? $0 }
    }

    static func stateBadges(_ node: NodeRecord) -> HTML {
        PortalLayout.badge(node.state) + (node.drainMode ? " " + PortalLayout.badge("Drain mode") : .empty)
    }

    static let filterKeys = ["state", "group", "q"]
    static let states = ["Active", "Offline", "Updating", "Unhealthy", "Drain mode"]

    /// The list's filters, order and page, from the page's (or the live feed's) query.
    static func controls(_ query: FormData) -> ListControls {
        ListControls(
            path: "/nodes",
            query: query,
            filterKeys: filterKeys,
            sortKeys: NodeSearch.sortKeys,
            defaultDescending: false
        )
    }

    private func filterForm(_ request: PortalRequest) async throws -> HTML {
        let query = request.query
        let groups: GroupList? = try await PortalData.permitted {
            try await portal.client.rpc(RPCCatalog.listGroups, principal: request.principal, body: Empty())
        }
        let stateOptions = Self.states.html { PortalLayout.option($0, label: $0, selected: query["state"] == $0) }
        let groupOptions = (groups?.groups ?? []).html {
            PortalLayout.option($0.id, label: $0.name, selected: query["group"] == $0.id)
        }
        return """
            <form method="get" action="/nodes" class="filters" role="search" aria-label="Filter nodes">
            <label for="f-q">Search<input id="f-q" name="q" type="search" placeholder="id, name, address" value="\(query["q"] ?? "")"></label>
            <label for="f-state">State<select id="f-state" name="state"><option value="">Any state</option>\(stateOptions)</select></label>
            <label for="f-group">Group<select id="f-group" name="group"><option value="">Any group</option>\(groupOptions)</select></label>
            \(Self.controls(query).orderFields)<button type="submit">Filter</button> <a href="/nodes">Clear</a>
            </form>
            """
    }

    func listFragments(_ request: PortalRequest) async throws -> [LiveFragment] {
        let query = request.query
        let controls = Self.controls(query)
        let result = try await portal.client.rpc(
            RPCCatalog.searchNodes,
            principal: request.principal,
            body: NodeSearch(
                state: query["state"] ?? "",
                groupID: query["group"] ?? "",
                text: query["q"] ?? "",
                sort: controls.sort,
                descending: controls.descending,
                offset: controls.offset,
                limit: ListControls.pageSize
            )
        )
        let rows = result.items.map { node -> HTML in
            let templates = node.templates.map { $0.tag.isEmpty ? $0.name : "\($0.name):\($0.tag)" }
            return PortalLayout.cells([
                "<a href=\"/nodes/\(PortalLayout.percentEncoded(node.nodeID))\">\(node.name.isEmpty ? node.nodeID : node.name)</a><br><small>\(node.nodeID)</small>",
                Self.stateBadges(node),
                "\(node.groups.map(\.name).joined(separator: ", "))",
                "\(node.vmCount) / \(node.capacity)",
                "\(PortalLayout.percent(node.cpuUtil))",
                "\(PortalLayout.percent(node.ramUtil))",
                "\(PortalLayout.bytes(node.freeDiskBytes)) free of \(PortalLayout.bytes(node.diskSizeBytes))",
                "\(templates.isEmpty ? "—" : templates.joined(separator: ", "))",
            ])
        }
        return [
            LiveFragment(
                id: "nodes",
                html: controls.pager(shown: result.items.count, matching: result.matching, total: result.total, noun: "nodes")
                    + PortalLayout.table(
                        caption: "Nodes",
                        headerCells: [
                            controls.header("Node", sort: "name"), controls.header("State", sort: "state"),
                            controls.header("Groups"), controls.header("Instances", sort: "instances"),
                            controls.header("CPU", sort: "cpu"), controls.header("RAM", sort: "ram"),
                            controls.header("Disk"), controls.header("Templates held"),
                        ],
                        rows: rows,
                        empty: result.total > 0 ? "No nodes match." : "No nodes have joined yet."
                    )
            )
        ]
    }

    private func node(_ request: PortalRequest, id: String) async throws -> NodeRecord {
        let list: NodeList = try await portal.client.rpc(
            RPCCatalog.listNodes,
            principal: request.principal,
            body: IDQuery(id: id)
        )
        guard let node = list.nodes.first else { throw GatewayError(.notFound, "No such node \(id)") }
        return node
    }

    func detailFragments(_ request: PortalRequest, id: String) async throws -> [LiveFragment] {
        try await detailFragments(request, node: try await node(request, id: id))
    }

    private func detailFragments(_ request: PortalRequest, node: NodeRecord) async throws -> [LiveFragment] {
        let id = node.nodeID
        let instances: SearchPage<InstanceRecord>? = try await PortalData.permitted {
            try await portal.client.rpc(
                RPCCatalog.searchInstances,
                principal: request.principal,
                body: InstanceSearch(nodeID: id, limit: 100)
            )
        }
        let here = instances?.items ?? []
        let more: HTML =
            (instances?.matching ?? 0) > here.count
            ? "<p class=\"detail\">\(here.count) newest of \(instances?.matching ?? 0): <a href=\"/instances?node=\(PortalLayout.percentEncoded(id))\">all of this node's instances</a></p>"
            : .empty
        let drain: HTML =
            node.drainMode
            ? PortalLayout.button(
                request,
                action: "/nodes/\(PortalLayout.percentEncoded(id))/drain",
                label: "Turn drain mode off",
                fields: [("drain", "0")]
            )
            : PortalLayout.button(
                request,
                action: "/nodes/\(PortalLayout.percentEncoded(id))/drain",
                label: "Turn drain mode on",
                fields: [("drain", "1")]
            )
        let remove: HTML =
            node.state == "Offline"
            ? PortalLayout.button(
                request,
                action: "/nodes/\(PortalLayout.percentEncoded(id))/delete",
                label: "Remove node",
                style: "danger"
            )
            : "<span class=\"detail\">Only an offline node can be removed.</span>"
        let facts: HTML = """
            <dl class="facts">
            <dt>Id</dt><dd>\(node.nodeID)</dd>
            <dt>Name</dt><dd>\(node.name)</dd>
            <dt>State</dt><dd>\(Self.stateBadges(node))</dd>
            <dt>Address</dt><dd>\(node.ipAddress)</dd>
            <dt>Arch</dt><dd>\(node.arch)</dd>
            <dt>CPU</dt><dd>\(node.cpuCount) cores, \(PortalLayout.percent(node.cpuUtil)) used</dd>
            <dt>RAM</dt><dd>\(PortalLayout.bytes(node.ramMB * 1_048_576)), \(PortalLayout.percent(node.ramUtil)) used</dd>
            <dt>Disk</dt><dd>\(PortalLayout.bytes(node.freeDiskBytes)) free of \(PortalLayout.bytes(node.diskSizeBytes)); template cache \(PortalLayout.bytes(node.cacheBytes))</dd>
            <dt>Capacity</dt><dd>\(node.vmCount) of \(node.capacity) instances (\(node.capacityMode) mode; \(node.vcpuCount) vCPU, \(node.vramMB) MiB in use)</dd>
            <dt>Groups</dt><dd>\(node.groups.isEmpty ? "none" : node.groups.map(\.name).joined(separator: ", "))</dd>
            <dt>Agent</dt><dd>\(node.agentVersion)</dd>
            <dt>Last seen</dt><dd>\(PortalLayout.time(micros: node.lastSeenMicros))</dd>
            </dl>
            <div class="actions">\(drain) \(remove)</div>
            """
        let instanceRows = here.map { instance -> HTML in
            PortalLayout.cells([
                "<a href=\"/instances/\(PortalLayout.percentEncoded(instance.instanceID))\">\(instance.instanceID)</a>",
                PortalLayout.badge(instance.state.description),
                "\(instance.templateName):\(instance.tag)",
            ])
        }
        let templateRows = node.templates.map { template -> HTML in
            PortalLayout.cells(["\(template.name)", "\(template.tag)", "\(PortalLayout.bytes(template.size))"])
        }
        return [
            LiveFragment(
                id: "node",
                html:
                    "<section class=\"panel\"><h2>\(node.name.isEmpty ? node.nodeID : node.name)</h2>\(facts)</section>"
            ),
            LiveFragment(
                id: "node-instances",
                html: "<h2>Instances</h2>"
                    + PortalLayout.table(
                        caption: "Instances on this node",
                        headers: ["Instance", "State", "Template"],
                        rows: instanceRows,
                        empty: "No instances on this node."
                    )
                    + more
                    + "<h2>Templates held</h2>"
                    + PortalLayout.table(
                        caption: "Templates in the node's cache",
                        headers: ["Template", "Tag", "Size"],
                        rows: templateRows,
                        empty: "The node holds no templates."
                    )
            ),
        ]
    }

    private func forms(_ request: PortalRequest, node: NodeRecord) async throws -> HTML {
        let id = node.nodeID
        let groups: GroupList? = try await PortalData.permitted {
            try await portal.client.rpc(RPCCatalog.listGroups, principal: request.principal, body: Empty())
        }
        let member = Set(node.groups.map(\.id))
        let path = "/nodes/\(PortalLayout.percentEncoded(id))"
        let groupBoxes = (groups?.groups ?? []).html { group in
            let checked: HTML = member.contains(group.id) ? " checked" : .empty
            return
                "<label class=\"check\"><input type=\"checkbox\" name=\"group\" value=\"\(group.id)\"\(checked)> \(group.name)</label>"
        }
        return """
            <div class="panels">
            <section class="panel" aria-labelledby="capacity-title">
            <h2 id="capacity-title">Capacity</h2>
            <form method="post" action="\(path)/config" class="stack">\(PortalLayout.formFields(request))
            <label for="max_vm_count">Instances at most<input id="max_vm_count" name="max_vm_count" type="number" min="0" max="10000" value="\(node.capacity)"></label>
            <label for="capacity_mode">Capacity mode<select id="capacity_mode" name="capacity_mode">
            \(PortalLayout.option("number", label: "number: count instances", selected: node.capacityMode != "resource"))
            \(PortalLayout.option("resource", label: "resource: count vCPU and RAM", selected: node.capacityMode == "resource"))
            </select></label>
            <label for="vcpu_override">vCPU override (0: the node's own)<input id="vcpu_override" name="vcpu_override" type="number" min="0" value="\(node.vcpuOverride)"></label>
            <label for="ram_override">RAM override in MiB (0: the node's own)<input id="ram_override" name="ram_override" type="number" min="0" value="\(node.ramOverride)"></label>
            <div><button type="submit" class="primary">Save capacity</button></div>
            </form>
            </section>
            <section class="panel" aria-labelledby="groups-title">
            <h2 id="groups-title">Groups</h2>
            <form method="post" action="\(path)/groups" class="stack">\(PortalLayout.formFields(request))
            <fieldset><legend>Member of</legend>\(groupBoxes.description.isEmpty ? "<p class=\"empty\">No groups yet; create one under Groups.</p>" : groupBoxes)</fieldset>
            <div><button type="submit">Save groups</button></div>
            </form>
            </section>
            </div>
            """
    }
}
