import Hummingbird
import WireProtocol

/// `/api/v1/node`: list/show and delete nodes.
struct NodeRoutes {
    let client: ControlPlaneClient

    func register(on router: Router<GatewayContext>) {
        router.get("/api/v1/node") { request, context -> Response in
            let id = request.uri.queryParameters.get("id") ?? ""
            let list: NodeList = try await client.rpc(
                RPCCatalog.listNodes,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            return AnkaJSON.ok(list.nodes.map(NodeJSON.init))
        }
        router.post("/api/v1/node/config") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            guard let id = try json.string("node_id"), !id.isEmpty else {
                throw GatewayError(.badRequest, "node_id is required")
            }
            var body = NodeConfigRequest(nodeID: id)
            body.name = try json.string("name")
            body.host = try json.string("host")
            body.maxVMCount = try json.int("max_vm_count")
            body.capacityMode = try json.string("capacity_mode")
            body.vcpuOverride = try json.int("vcpu_override")
            body.ramOverride = try json.int("ram_override")
            body.drainMode = try json.bool("drain_mode")
            let _: Empty = try await client.rpc(RPCCatalog.configureNode, principal: context.principal, body: body)
            return AnkaJSON.ok()
        }
        // USB devices of the cloud by device group: {"iphone7": {"available": 3, "busy": 1}}.
        // Devices of offline nodes count as neither.
        router.get("/api/v1/usb") { _, context -> Response in
            let list: NodeList = try await client.rpc(
                RPCCatalog.listNodes,
                principal: context.principal,
                body: IDQuery()
            )
            var groups: [String: [String: Int]] = [:]
            for node in list.nodes where node.state != "Offline" {
                for device in node.usbDevices {
                    groups[device.name, default: ["available": 0, "busy": 0]][
                        device.busy ? "busy" : "available",
                        default: 0
                    ] += 1
                }
            }
            return AnkaJSON.ok(groups)
        }
        // The managed MAC address pool (Anka's macaddr): count, list, populate, purge.
        router.get("/api/v1/macaddr") { request, context -> Response in
            let query = request.uri.queryParameters
            func flag(_ key: String) -> Bool { query.get(key).map { $0 != "0" && $0 != "false" } ?? false }
            var limit = 0
            if let text = query.get("limit") {
                guard let value = Int(text), value > 0 else {
                    throw GatewayError(.badRequest, "limit must be a positive number")
                }
                limit = value
            }
            let list: MACList = try await client.rpc(
                RPCCatalog.listMACs,
                principal: context.principal,
                body: MACQuery(count: flag("count"), inUse: flag("in_use"), limit: limit, last: query.get("last") ?? "")
            )
            return limit > 0 ? AnkaJSON.ok(list.addresses.map(\.mac)) : AnkaJSON.ok(list.total)
        }
        router.put("/api/v1/macaddr") { _, context -> Response in
            let list: MACList = try await client.rpc(
                RPCCatalog.populateMACs,
                principal: context.principal,
                body: Empty()
            )
            return AnkaJSON.ok(message: "\(list.total) addresses added")
        }
        router.delete("/api/v1/macaddr") { _, context -> Response in
            let list: MACList = try await client.rpc(RPCCatalog.purgeMACs, principal: context.principal, body: Empty())
            return AnkaJSON.ok(message: list.total == 0 ? "" : "\(list.total) addresses in use were kept")
        }
        // VLAN ids the nodes offer, as strings, each once.
        router.get("/api/v1/vlan") { _, context -> Response in
            let list: NodeList = try await client.rpc(
                RPCCatalog.listNodes,
                principal: context.principal,
                body: IDQuery()
            )
            let vlans = Set(list.nodes.flatMap(\.vlans))
            return AnkaJSON.ok(vlans.sorted { (Int($0) ?? Int.max, $0) < (Int($1) ?? Int.max, $1) })
        }
        // Force node agent update: every node runs its update; offline nodes do when they return.
        router.put("/api/v1/node/update") { _, context -> Response in
            let _: IDList = try await client.rpc(
                RPCCatalog.updateNodeAgents,
                principal: context.principal,
                body: Empty()
            )
            return AnkaJSON.ok()
        }
        router.delete("/api/v1/node") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try json.string("node_id") ?? json.string("id") ?? request.uri.queryParameters.get("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "node_id is required") }
            let _: Empty = try await client.rpc(
                RPCCatalog.deleteNode,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            return AnkaJSON.ok()
        }
    }
}
