import Logging
import Persistence
import WireProtocol

/// Turns one gateway RPC into a call on the fleet and wraps the answer.
///
/// Every error becomes an ``RPCResponse`` with a status; nothing thrown here reaches
/// the connection, so one bad request never closes the gateway's connection.
struct RPCDispatcher: Sendable {
    let fleet: Fleet
    let keys: KeyStore
    let authorizer: Authorizer
    let eventLog: EventLog
    let configuration: ControlPlaneConfiguration
    let logger: Logger
    /// Whether storage is in a full episode, so that it is logged once, not per request.
    let storage = StorageAlarm()

    func handle(_ request: RPCRequest) async -> RPCResponse {
        var principal = request.principal
        let response = await perform(request, principal: &principal)
        if response.status == .ok, Self.audited.contains(request.method) {
            storage.reportWritable(logger: logger)
            await audit(request, principal: principal, response: response)
        }
        return response
    }

    /// Calls that change something; each becomes an `api.<method>` event.
    static let audited: Set<RPCMethod> = [
        .startInstances, .terminateInstance, .updateInstance, .restartInstance, .deleteNode, .configureNode,
        .updateNodeAgents, .createGroup, .updateGroup, .deleteGroup, .addNodesToGroups, .removeNodesFromGroups,
        .createAPIKey, .updateAPIKey, .deleteAPIKey, .createPermissionGroup, .updatePermissionGroup,
        .deletePermissionGroup, .setGroupResources, .populateMACs, .purgeMACs, .deleteTemplate, .revertTemplate,
        .commitTemplateVersion, .distributeTemplate, .cancelDistribution, .removeTemplateFromNodes, .saveImage,
    ]

    /// Anka's MAC address management: count, list, populate from the configured range, purge.
    private func macPool(_ request: RPCRequest) async throws -> MACList {
        guard let range = configuration.macRange else {
            throw ControlPlaneError.badRequest(
                "MAC address management is off; start the control plane with --mac-range"
            )
        }
        let database = fleet.database
        switch request.method {
        case .populateMACs:
            return MACList(total: try await database.populateMACs(first: range.lowerBound, last: range.upperBound))
        case .purgeMACs:
            return MACList(total: try await database.purgeFreeMACs())
        default:
            let query = try MACQuery(bytes: request.body)
            if query.limit > 0 {
                var after: UInt64?
                if !query.last.isEmpty {
                    guard let value = BerthDatabase.macValue(query.last) else {
                        throw ControlPlaneError.badRequest("last must be a MAC address such as 00:1C:42:00:00:FF")
                    }
                    after = value
                }
                let entries = try await database.macs(
                    limit: min(query.limit, 10_000),
                    after: after,
                    inUseOnly: query.inUse
                )
                return MACList(
                    total: entries.count,
                    addresses: entries.map { MACRecord(mac: $0.mac, instanceID: $0.instanceID) }
                )
            }
            guard query.count || query.inUse else {
                throw ControlPlaneError.badRequest("macaddr needs count or in_use, or limit (with last to page)")
            }
            return MACList(total: try await database.countMACs(inUse: query.inUse))
        }
    }

    /// `principal` is the one the control plane checked (a key's id, not what the bearer claims).
    private func audit(_ request: RPCRequest, principal: Principal, response: RPCResponse) async {
        let actor =
            switch principal.kind {
            case .root: "root"
            case .anonymous: "anonymous"
            case .apiKey, .certificate: principal.name.isEmpty ? "\(principal.kind)" : principal.name
            }
        // Field 1 of every audited body is the object's id or name (a start's ids are in the answer).
        var subject = (try? IDQuery(bytes: request.body).id) ?? ""
        if request.method == .startInstances, let ids = try? IDList(bytes: response.body) {
            subject = ids.ids.joined(separator: ",")
        } else if request.method == .createGroup, let group = try? GroupRecord(bytes: response.body) {
            subject = group.id
        }
        await eventLog.record(
            kind: "api.\(request.method)",
            subject: subject,
            message: "\(request.method) by \(actor)",
            actor: actor
        )
    }

    private func perform(_ request: RPCRequest, principal: inout Principal) async -> RPCResponse {
        do {
            // A key's session, or a root dashboard session (root with a session id): both
            // are checked here on every call, so deleting the key or logging out ends them.
            if principal.kind == .apiKey || (principal.kind == .root && !principal.sessionID.isEmpty) {
                switch await keys.authenticate(sessionID: principal.sessionID, token: principal.token) {
                case .root where principal.kind == .root:
                    break
                case .key(let key) where principal.kind == .apiKey:
                    principal.name = key.id
                    principal.groups = key.groupNames
                default:
                    return RPCResponse(status: .unauthenticated, message: "Authentication Required")
                }
            }
            try await authorizer.authorize(principal, for: request.method)
            switch request.method {
            case .tapHand:
                return .ok(try await keys.hand(keyID: try IDQuery(bytes: request.body).id))
            case .tapShake:
                return .ok(try await keys.shake(try TAPShakeRequest(bytes: request.body)))
            case .createAPIKey:
                let body = try APIKeyCreateRequest(bytes: request.body)
                try await authorizer.authorizeGrant(groups: body.groups, keyID: body.id, by: principal)
                return .ok(try await keys.create(body))
            case .listAPIKeys:
                return .ok(APIKeyList(keys: try await keys.list(id: try IDQuery(bytes: request.body).id)))
            case .updateAPIKey:
                let body = try APIKeyUpdateRequest(bytes: request.body)
                try await authorizer.authorizeGrant(groups: body.groups, keyID: body.id, by: principal)
                try await keys.update(body)
                return .ok(Empty())
            case .deleteAPIKey:
                try await keys.delete(id: try IDQuery(bytes: request.body).id)
                return .ok(Empty())
            case .status:
                return .ok(
                    ControllerStatus(status: "Running", version: configuration.version, registryStatus: "Running")
                )
            case .startInstances:
                let body = try StartInstancesRequest(bytes: request.body)
                try await authorizer.authorizeStart(principal, body)
                return .ok(IDList(ids: try await fleet.startInstances(body)))
            case .listInstances:
                let query = try InstanceQuery(bytes: request.body)
                if query.id.isEmpty, query.limit > 0 {
                    return .ok(await fleet.listInstances(after: query.after, limit: query.limit))
                }
                return .ok(InstanceList(instances: try await fleet.listInstances(id: query.id)))
            case .terminateInstance:
                let query = try IDQuery(bytes: request.body)
                try await fleet.terminateInstance(id: query.id)
                return .ok(Empty())
            case .instanceLog:
                return .ok(try await fleet.instanceLog(try LogRequest(bytes: request.body)))
            case .listEvents:
                return .ok(EventList(events: try await eventLog.query(try EventQuery(bytes: request.body))))
            case .watchFleet:
                let watch = try FleetWatch(bytes: request.body)
                let timeout = Duration.milliseconds(Int64(min(max(watch.timeoutMillis, 0), 60_000)))
                let sequence = await fleet.events.waitForChange(after: watch.sequence, timeout: timeout)
                return .ok(FleetWatch(sequence: sequence))
            case .fleetHistory:
                return .ok(FleetHistory(samples: try await fleet.fleetHistory()))
            case .instanceHistory:
                let id = try IDQuery(bytes: request.body).id
                guard await fleet.instance(id: id) != nil else {
                    throw ControlPlaneError.notFound("No such instance \(id)")
                }
                let rows = try await fleet.database.transitions(instanceID: id)
                return .ok(
                    InstanceHistory(
                        transitions: rows.map {
                            InstanceTransition(state: $0.state, message: $0.message, tsMicros: Int($0.ts))
                        }
                    )
                )
            case .portalSession:
                let body = try PortalSessionRequest(bytes: request.body)
                switch principal.kind {
                case .root:
                    return .ok(await keys.rootPortalSession(ttlSeconds: body.ttlSeconds))
                case .apiKey:
                    return .ok(try await keys.portalSession(keyID: principal.name, ttlSeconds: body.ttlSeconds))
                default:
                    throw ControlPlaneError.badRequest("portal sessions are for the root token and API key sessions")
                }
            case .endSession:
                if !principal.sessionID.isEmpty { await keys.end(sessionID: principal.sessionID) }
                return .ok(Empty())
            case .portalSecret:
                let secret = try await fleet.database.secret("portal-cookie-secret") { RandomID.bytes(32) }
                return .ok(PortalSecret(secret: secret))
            case .waitInstance:
                let waiter = InstanceWaiter(current: { [fleet] id in await fleet.instance(id: id) }, events: fleet.events)
                return .ok(try await waiter.wait(try WaitInstanceRequest(bytes: request.body)))
            case .updateInstance:
                try await fleet.updateInstance(try UpdateInstanceRequest(bytes: request.body))
                return .ok(Empty())
            case .restartInstance:
                try await fleet.restartInstance(id: try IDQuery(bytes: request.body).id)
                return .ok(Empty())
            case .listNodes:
                let query = try IDQuery(bytes: request.body)
                if !query.id.isEmpty {
                    try await authorizer.requireResource(principal, type: "node", id: query.id, permission: "list")
                }
                var nodes = try await fleet.listNodes(id: query.id)
                if let permitted = await authorizer.permittedResources(principal, type: "node", permission: "list") {
                    nodes = nodes.filter { permitted.contains($0.nodeID) }
                }
                return .ok(NodeList(nodes: nodes))
            case .configureNode:
                let body = try NodeConfigRequest(bytes: request.body)
                try await authorizer.requireResource(
                    principal,
                    type: "node",
                    id: body.nodeID,
                    permission: "change_config"
                )
                try await fleet.configureNode(body)
                return .ok(Empty())
            case .updateNodeAgents:
                let permitted = await authorizer.permittedResources(
                    principal,
                    type: "node",
                    permission: "force_upgrade"
                )
                if let permitted, permitted.isEmpty {
                    throw ControlPlaneError(
                        .forbidden,
                        "Permission denied: missing resource permission force_upgrade on every node"
                    )
                }
                return .ok(IDList(ids: try await fleet.updateNodeAgents(only: permitted)))
            case .createGroup:
                return .ok(try await fleet.createGroup(try GroupRecord(bytes: request.body)))
            case .listGroups:
                return .ok(GroupList(groups: await fleet.listGroups()))
            case .updateGroup:
                try await fleet.updateGroup(try GroupUpdateRequest(bytes: request.body))
                return .ok(Empty())
            case .deleteGroup:
                try await fleet.deleteGroup(id: try IDQuery(bytes: request.body).id)
                return .ok(Empty())
            case .addNodesToGroups:
                try await fleet.setMembership(try NodeGroupsRequest(bytes: request.body), member: true)
                return .ok(Empty())
            case .removeNodesFromGroups:
                try await fleet.setMembership(try NodeGroupsRequest(bytes: request.body), member: false)
                return .ok(Empty())
            case .deleteNode:
                let query = try IDQuery(bytes: request.body)
                try await authorizer.requireResource(principal, type: "node", id: query.id, permission: "remove")
                try await fleet.deleteNode(id: query.id)
                return .ok(Empty())
            case .listTemplates:
                let query = try IDQuery(bytes: request.body)
                if !query.id.isEmpty {
                    try await authorizer.requireResource(principal, type: "template", id: query.id, permission: "list")
                }
                var templates = try await fleet.registry.list(id: query.id)
                if let permitted = await authorizer.permittedResources(principal, type: "template", permission: "list")
                {
                    templates = templates.filter { permitted.contains($0.id) }
                }
                return .ok(TemplateList(templates: templates))
            case .deleteTemplate:
                let id = try IDQuery(bytes: request.body).id
                try await authorizer.requireResource(principal, type: "template", id: id, permission: "delete_revert")
                try await fleet.deleteTemplate(id: id)
                return .ok(Empty())
            case .revertTemplate:
                let body = try RevertTemplateRequest(bytes: request.body)
                try await authorizer.requireResource(
                    principal,
                    type: "template",
                    id: body.id,
                    permission: "delete_revert"
                )
                return .ok(IDList(ids: try await fleet.registry.revert(body)))
            case .listMACs, .populateMACs, .purgeMACs:
                return .ok(try await macPool(request))
            case .putChunk:
                let chunk = try ChunkData(bytes: request.body)
                return .ok(ChunkList(requestID: 0, hashes: [try await fleet.registry.content.put(chunk.data)]))
            case .missingChunks:
                let list = try ChunkList(bytes: request.body)
                return .ok(ChunkList(requestID: 0, hashes: try await fleet.registry.content.missing(list.hashes)))
            case .commitTemplateVersion:
                let body = try CommitVersionRequest(bytes: request.body)
                if !body.templateID.isEmpty {
                    try await authorizer.requireResource(
                        principal,
                        type: "template",
                        id: body.templateID,
                        permission: "push_tag"
                    )
                }
                return .ok(try await fleet.registry.commit(body))
            case .distributeTemplate:
                let body = try DistributeRequest(bytes: request.body)
                let permitted = await authorizer.permittedResources(principal, type: "node", permission: "distribute")
                return .ok(IDQuery(id: try await fleet.distribute(body, permitted: permitted)))
            case .listDistributions:
                return .ok(
                    DistributionList(
                        distributions: try await fleet.listDistributions(id: try IDQuery(bytes: request.body).id)
                    )
                )
            case .cancelDistribution:
                try await fleet.cancelDistribution(id: try IDQuery(bytes: request.body).id)
                return .ok(Empty())
            case .removeTemplateFromNodes:
                let body = try RemoveFromNodesRequest(bytes: request.body)
                let permitted = await authorizer.permittedResources(
                    principal,
                    type: "node",
                    permission: "delete_template"
                )
                return .ok(IDList(ids: try await fleet.removeTemplateFromNodes(body, permitted: permitted)))
            case .registryDisk:
                return .ok(try await fleet.registry.disk())
            case .saveImage:
                let body = try SaveImageRequest(bytes: request.body)
                if !body.targetTemplateID.isEmpty {
                    try await authorizer.requireResource(
                        principal,
                        type: "template",
                        id: body.targetTemplateID,
                        permission: "save_image"
                    )
                }
                return .ok(IDQuery(id: try await fleet.saveImage(body)))
            case .listImageRequests:
                return .ok(
                    ImageRequestList(
                        requests: try await fleet.listImageRequests(id: try IDQuery(bytes: request.body).id)
                    )
                )
            case .permissionCatalogue:
                return .ok(PermissionCatalog.wireCatalogue)
            case .listPermissionGroups:
                let query = try IDQuery(bytes: request.body)
                return .ok(PermissionGroupList(groups: try await authorizer.store.list(name: query.id)))
            case .createPermissionGroup:
                let body = try PermissionGroupRecord(bytes: request.body)
                try await authorizer.authorizeGrant(permissions: body.permissions, by: principal)
                try await authorizer.store.create(body)
                return .ok(Empty())
            case .updatePermissionGroup:
                let body = try PermissionGroupUpdate(bytes: request.body)
                // A new list replaces the old one whole, so every permission on it must be held.
                try await authorizer.authorizeGrant(permissions: body.permissions ?? [], by: principal)
                try await authorizer.store.update(body)
                return .ok(Empty())
            case .deletePermissionGroup:
                try await authorizer.store.delete(name: try IDQuery(bytes: request.body).id)
                return .ok(Empty())
            case .listGroupResources:
                let name = try IDQuery(bytes: request.body).id
                return .ok(GroupResources(group: name, resources: await authorizer.store.resources(of: name)))
            case .setGroupResources:
                let body = try GroupResources(bytes: request.body)
                try await authorizer.authorizeGrant(resources: body.resources, by: principal)
                try await authorizer.store.setResources(body)
                // Waiting instances may now fit on newly granted nodes.
                if authorizer.resourceManagement { await fleet.requestScheduling() }
                return .ok(Empty())
            default:
                return RPCResponse(status: .notImplemented, message: "unknown method \(request.method.rawValue)")
            }
        } catch let error as ControlPlaneError {
            return RPCResponse(status: error.status, message: error.message)
        } catch let error as WireError {
            return RPCResponse(status: .badRequest, message: "malformed request body: \(error.reason)")
        } catch where PersistenceError.isStorageFull(error) {
            storage.reportFull(method: request.method, error: error, logger: logger)
            return RPCResponse(
                status: .storageFull,
                message: "control plane storage is full; free disk space on the control plane's host"
            )
        } catch {
            logger.error("rpc failed", metadata: ["method": "\(request.method)", "error": "\(error)"])
            return RPCResponse(status: .internalError, message: "internal error")
        }
    }
}
