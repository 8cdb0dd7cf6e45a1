import Persistence
import WireProtocol

/// What the control plane does for each gateway RPC, registered against ``RPCCatalog``.
///
/// The controller permission of each method is checked before its handler runs (by
/// ``RPCDispatcher``, from the descriptor); handlers check what depends on the object:
/// resource permissions and grants.
struct RPCRoutes: Sendable {
    let fleet: Fleet
    let keys: KeyStore
    let authorizer: Authorizer
    let eventLog: EventLog
    let accessTokens: AccessTokens
    let enrollment: EnrollmentService
    let configuration: ControlPlaneConfiguration

    /// Every handler. A test checks that this covers ``RPCCatalog/all`` exactly.
    func table() -> RPCHandlerTable {
        var table = RPCHandlerTable()
        controller(&table)
        instances(&table)
        nodes(&table)
        joinTokens(&table)
        nodeGroups(&table)
        keysAndSessions(&table)
        permissionGroups(&table)
        macAddresses(&table)
        registry(&table)
        return table
    }

    private func controller(_ table: inout RPCHandlerTable) {
        table.on(RPCCatalog.status) { [configuration] _, _ in
            ControllerStatus(status: "Running", version: configuration.version, registryStatus: "Running")
        }
        table.on(RPCCatalog.listEvents) { [eventLog] query, _ in
            EventList(events: try await eventLog.query(query))
        }
        table.on(RPCCatalog.watchFleet) { [fleet] watch, _ in
            let timeout = Duration.milliseconds(Int64(min(max(watch.timeoutMillis, 0), 60_000)))
            return FleetWatch(sequence: await fleet.events.waitForChange(after: watch.sequence, timeout: timeout))
        }
        table.on(RPCCatalog.fleetHistory) { [fleet] _, _ in
            FleetHistory(samples: try await fleet.fleetHistory())
        }
    }

    private func instances(_ table: inout RPCHandlerTable) {
        table.on(RPCCatalog.startInstances) { [fleet, authorizer] request, principal in
            try await authorizer.authorizeStart(principal, request)
            return IDList(ids: try await fleet.startInstances(request))
        }
        table.on(RPCCatalog.listInstances) { [fleet] query, _ in
            if query.id.isEmpty, query.limit > 0 {
                return await fleet.listInstances(after: query.after, limit: query.limit, tags: query.tags)
            }
            return InstanceList(instances: try await fleet.listInstances(id: query.id))
        }
        table.on(RPCCatalog.terminateInstance) { [fleet] query, principal in
            try await fleet.terminateInstance(id: query.id, by: RPCDispatcher.actor(principal))
            return Empty()
        }
        table.on(RPCCatalog.updateInstance) { [fleet] request, _ in
            try await fleet.updateInstance(request)
            return Empty()
        }
        table.on(RPCCatalog.restartInstance) { [fleet] query, _ in
            try await fleet.restartInstance(id: query.id)
            return Empty()
        }
        table.on(RPCCatalog.waitInstance) { [fleet] request, _ in
            let waiter = InstanceWaiter(current: { id in await fleet.instance(id: id) }, events: fleet.events)
            return try await waiter.wait(request)
        }
        table.on(RPCCatalog.instanceLog) { [fleet] request, _ in
            try await fleet.instanceLog(request)
        }
        table.on(RPCCatalog.searchInstances) { [fleet] search, _ in try await fleet.searchInstances(search) }
        table.on(RPCCatalog.instanceMetrics) { [fleet] query, _ in
            InstanceMetricsList(items: try await fleet.instanceMetrics(id: query.id))
        }
        environments(&table)
        table.on(RPCCatalog.instanceHistory) { [fleet] query, _ in
            guard await fleet.instance(id: query.id) != nil else {
                throw ControlPlaneError.notFound("No such instance \(query.id)")
            }
            let rows = try await fleet.database.transitions(instanceID: query.id)
            return InstanceHistory(
                transitions: rows.map { InstanceTransition(state: $0.state, message: $0.message, tsMicros: Int($0.ts)) }
            )
        }
    }

    private func environments(_ table: inout RPCHandlerTable) {
        table.on(RPCCatalog.createEnvironment) { [fleet, authorizer] request, principal in
            let scope = try await authorizer.environmentScope(principal)
            let actor = RPCDispatcher.actor(principal)
            var request = request
            if request.owner.isEmpty { request.owner = actor }
            guard scope.covers(owner: request.owner) else {
                throw ControlPlaneError(
                    .forbidden,
                    "Permission denied: missing permission manage_envs (the owner \(request.owner) is not you)"
                )
            }
            let created = try await fleet.createEnvironment(request, by: actor)
            // All or nothing: every member Started within the timeout, or none stays.
            let failure = await EnvironmentCreation.waitForMembers(
                created.members.map(\.instanceID),
                timeout: .seconds(request.placementTimeoutSeconds ?? CreateEnvironmentRequest.defaultPlacementTimeout),
                fleet: fleet
            )
            let settled = await fleet.settleEnvironment(id: created.id, failure: failure)
            if let failure {
                throw ControlPlaneError(.conflict, "environment \(created.id) was not created: \(failure)")
            }
            return settled ?? created
        }
        table.on(RPCCatalog.listEnvironments) { [fleet, authorizer] query, principal in
            let scope = try await authorizer.environmentScope(principal)
            return EnvironmentList(items: try await fleet.listEnvironments(id: query.id, scope: scope))
        }
        table.on(RPCCatalog.deleteEnvironment) { [fleet, authorizer] query, principal in
            let scope = try await authorizer.environmentScope(principal)
            try await fleet.destroyEnvironment(id: query.id, scope: scope, by: RPCDispatcher.actor(principal))
            return Empty()
        }
        table.on(RPCCatalog.extendEnvironment) { [fleet, authorizer] request, principal in
            let scope = try await authorizer.environmentScope(principal)
            return try await fleet.extendEnvironment(request, scope: scope, by: RPCDispatcher.actor(principal))
        }
        table.on(RPCCatalog.stopEnvironment) { [fleet, authorizer] query, principal in
            let scope = try await authorizer.environmentScope(principal)
            try await fleet.setEnvironmentRunning(id: query.id, running: false, scope: scope)
            return Empty()
        }
        table.on(RPCCatalog.startEnvironment) { [fleet, authorizer] query, principal in
            let scope = try await authorizer.environmentScope(principal)
            try await fleet.setEnvironmentRunning(id: query.id, running: true, scope: scope)
            return Empty()
        }
    }

    private func nodes(_ table: inout RPCHandlerTable) {
        table.on(RPCCatalog.listNodes) { [fleet, authorizer] query, principal in
            if !query.id.isEmpty {
                try await authorizer.requireResource(principal, type: "node", id: query.id, permission: "list")
            }
            var nodes = try await fleet.listNodes(id: query.id)
            if let permitted = await authorizer.permittedResources(principal, type: "node", permission: "list") {
                nodes = nodes.filter { permitted.contains($0.nodeID) }
            }
            return NodeList(nodes: nodes)
        }
        table.on(RPCCatalog.searchNodes) { [fleet, authorizer] search, principal in
            let permitted = await authorizer.permittedResources(principal, type: "node", permission: "list")
            return try await fleet.searchNodes(search, permitted: permitted)
        }
        table.on(RPCCatalog.configureNode) { [fleet, authorizer] request, principal in
            try await authorizer.requireResource(
                principal,
                type: "node",
                id: request.nodeID,
                permission: "change_config"
            )
            try await fleet.configureNode(request)
            return Empty()
        }
        table.on(RPCCatalog.updateNodeAgents) { [fleet, authorizer] _, principal in
            let permitted = await authorizer.permittedResources(principal, type: "node", permission: "force_upgrade")
            if let permitted, permitted.isEmpty {
                throw ControlPlaneError(
                    .forbidden,
                    "Permission denied: missing resource permission force_upgrade on every node"
                )
            }
            return IDList(ids: try await fleet.updateNodeAgents(only: permitted))
        }
        table.on(RPCCatalog.deleteNode) { [fleet, authorizer] query, principal in
            try await authorizer.requireResource(principal, type: "node", id: query.id, permission: "remove")
            try await fleet.deleteNode(id: query.id, by: RPCDispatcher.actor(principal))
            return Empty()
        }
    }

    private func nodeGroups(_ table: inout RPCHandlerTable) {
        table.on(RPCCatalog.createGroup) { [fleet] group, _ in try await fleet.createGroup(group) }
        table.on(RPCCatalog.listGroups) { [fleet] _, _ in GroupList(groups: await fleet.listGroups()) }
        table.on(RPCCatalog.updateGroup) { [fleet] request, _ in
            try await fleet.updateGroup(request)
            return Empty()
        }
        table.on(RPCCatalog.deleteGroup) { [fleet] query, _ in
            try await fleet.deleteGroup(id: query.id)
            return Empty()
        }
        table.on(RPCCatalog.addNodesToGroups) { [fleet] request, _ in
            try await fleet.setMembership(request, member: true)
            return Empty()
        }
        table.on(RPCCatalog.removeNodesFromGroups) { [fleet] request, _ in
            try await fleet.setMembership(request, member: false)
            return Empty()
        }
    }

    private func joinTokens(_ table: inout RPCHandlerTable) {
        table.on(RPCCatalog.createJoinTokens) { [enrollment] request, principal in
            try await enrollment.createTokens(request, by: RPCDispatcher.actor(principal))
        }
        table.on(RPCCatalog.listJoinTokens) { [enrollment] _, _ in
            JoinTokenList(tokens: try await enrollment.listTokens())
        }
        table.on(RPCCatalog.revokeJoinToken) { [enrollment] query, principal in
            guard !query.id.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
            return try await enrollment.revokeToken(id: query.id, by: RPCDispatcher.actor(principal))
        }
    }

    private func keysAndSessions(_ table: inout RPCHandlerTable) {
        table.on(RPCCatalog.tapHand) { [keys] query, _ in try await keys.hand(keyID: query.id) }
        table.on(RPCCatalog.tapShake) { [keys] request, _ in try await keys.shake(request) }
        table.on(RPCCatalog.createAPIKey) { [keys, authorizer] request, principal in
            try await authorizer.authorizeGrant(groups: request.groups, keyID: request.id, by: principal)
            return try await keys.create(request)
        }
        table.on(RPCCatalog.listAPIKeys) { [keys] query, _ in APIKeyList(keys: try await keys.list(id: query.id)) }
        table.on(RPCCatalog.updateAPIKey) { [keys, authorizer] request, principal in
            try await authorizer.authorizeGrant(groups: request.groups, keyID: request.id, by: principal)
            try await keys.update(request)
            return Empty()
        }
        table.on(RPCCatalog.deleteAPIKey) { [keys] query, _ in
            try await keys.delete(id: query.id)
            return Empty()
        }
        table.on(RPCCatalog.portalSession) { [keys] request, principal in
            switch principal.kind {
            case .root:
                return try await keys.rootPortalSession(ttlSeconds: request.ttlSeconds)
            case .apiKey:
                return try await keys.portalSession(keyID: principal.name, ttlSeconds: request.ttlSeconds)
            case .oidc where principal.sessionID.isEmpty:
                return try await keys.oidcPortalSession(for: principal, ttlSeconds: request.ttlSeconds)
            default:
                throw ControlPlaneError.badRequest("portal sessions are for the root token, API keys and OIDC users")
            }
        }
        table.on(RPCCatalog.endSession) { [keys] _, principal in
            if !principal.sessionID.isEmpty { await keys.end(sessionID: principal.sessionID) }
            return Empty()
        }
        table.on(RPCCatalog.createAccessToken) { [fleet, accessTokens] request, principal in
            guard await fleet.instance(id: request.instanceID) != nil else {
                throw ControlPlaneError.notFound("No such instance \(request.instanceID)")
            }
            return try await accessTokens.issue(
                instanceID: request.instanceID,
                ttlSeconds: request.ttlSeconds,
                issuer: RPCDispatcher.actor(principal)
            )
        }
        table.on(RPCCatalog.portalSecret) { [fleet] _, _ in
            PortalSecret(secret: try await fleet.database.secret("portal-cookie-secret") { RandomID.bytes(32) })
        }
    }

    private func permissionGroups(_ table: inout RPCHandlerTable) {
        let store = authorizer.store
        table.on(RPCCatalog.permissionCatalogue) { _, _ in PermissionCatalog.wireCatalogue }
        table.on(RPCCatalog.listPermissionGroups) { query, _ in
            PermissionGroupList(groups: try await store.list(name: query.id))
        }
        table.on(RPCCatalog.createPermissionGroup) { [authorizer] record, principal in
            try await authorizer.authorizeGrant(permissions: record.permissions, by: principal)
            try await store.create(record)
            return Empty()
        }
        table.on(RPCCatalog.updatePermissionGroup) { [authorizer] update, principal in
            // A new list replaces the old one whole, so every permission on it must be held.
            try await authorizer.authorizeGrant(permissions: update.permissions ?? [], by: principal)
            try await store.update(update)
            return Empty()
        }
        table.on(RPCCatalog.deletePermissionGroup) { query, _ in
            try await store.delete(name: query.id)
            return Empty()
        }
        table.on(RPCCatalog.listGroupResources) { query, _ in
            GroupResources(group: query.id, resources: await store.resources(of: query.id))
        }
        table.on(RPCCatalog.setGroupResources) { [fleet, authorizer] request, principal in
            try await authorizer.authorizeGrant(resources: request.resources, by: principal)
            try await store.setResources(request)
            // Waiting instances may now fit on newly granted nodes.
            if authorizer.resourceManagement { await fleet.requestScheduling() }
            return Empty()
        }
    }

    /// Anka's MAC address management: count, list, populate from the configured range, purge.
    private func macAddresses(_ table: inout RPCHandlerTable) {
        let database = fleet.database
        let configured = configuration.macRange
        @Sendable func range() throws -> ClosedRange<UInt64> {
            guard let configured else {
                throw ControlPlaneError.badRequest(
                    "MAC address management is off; start the control plane with --mac-range"
                )
            }
            return configured
        }
        table.on(RPCCatalog.populateMACs) { _, _ in
            let range = try range()
            return MACList(total: try await database.populateMACs(first: range.lowerBound, last: range.upperBound))
        }
        table.on(RPCCatalog.purgeMACs) { _, _ in
            _ = try range()
            return MACList(total: try await database.purgeFreeMACs())
        }
        table.on(RPCCatalog.listMACs) { query, _ in
            _ = try range()
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

    private func registry(_ table: inout RPCHandlerTable) {
        let registry = fleet.registry
        table.on(RPCCatalog.listTemplates) { [authorizer] query, principal in
            if !query.id.isEmpty {
                try await authorizer.requireResource(principal, type: "template", id: query.id, permission: "list")
            }
            var templates = try await registry.list(id: query.id)
            if let permitted = await authorizer.permittedResources(principal, type: "template", permission: "list") {
                templates = templates.filter { permitted.contains($0.id) }
            }
            return TemplateList(templates: templates)
        }
        table.on(RPCCatalog.deleteTemplate) { [fleet, authorizer] query, principal in
            try await authorizer.requireResource(principal, type: "template", id: query.id, permission: "delete_revert")
            try await fleet.deleteTemplate(id: query.id)
            return Empty()
        }
        table.on(RPCCatalog.revertTemplate) { [authorizer] request, principal in
            try await authorizer.requireResource(
                principal,
                type: "template",
                id: request.id,
                permission: "delete_revert"
            )
            return IDList(ids: try await registry.revert(request))
        }
        table.on(RPCCatalog.putChunk) { chunk, _ in
            ChunkList(requestID: 0, hashes: [try await registry.content.put(chunk.data)])
        }
        table.on(RPCCatalog.missingChunks) { list, _ in
            ChunkList(requestID: 0, hashes: try await registry.content.missing(list.hashes))
        }
        table.on(RPCCatalog.commitTemplateVersion) { [authorizer] request, principal in
            if !request.templateID.isEmpty {
                try await authorizer.requireResource(
                    principal,
                    type: "template",
                    id: request.templateID,
                    permission: "push_tag"
                )
            }
            return try await registry.commit(request)
        }
        table.on(RPCCatalog.distributeTemplate) { [fleet, authorizer] request, principal in
            let permitted = await authorizer.permittedResources(principal, type: "node", permission: "distribute")
            return IDQuery(id: try await fleet.distribute(request, permitted: permitted))
        }
        table.on(RPCCatalog.listDistributions) { [fleet] query, _ in
            DistributionList(distributions: try await fleet.listDistributions(id: query.id))
        }
        table.on(RPCCatalog.cancelDistribution) { [fleet] query, _ in
            try await fleet.cancelDistribution(id: query.id)
            return Empty()
        }
        table.on(RPCCatalog.removeTemplateFromNodes) { [fleet, authorizer] request, principal in
            let permitted = await authorizer.permittedResources(principal, type: "node", permission: "delete_template")
            return IDList(ids: try await fleet.removeTemplateFromNodes(request, permitted: permitted))
        }
        table.on(RPCCatalog.registryDisk) { _, _ in try await registry.disk() }
        table.on(RPCCatalog.saveImage) { [fleet, authorizer] request, principal in
            if !request.targetTemplateID.isEmpty {
                try await authorizer.requireResource(
                    principal,
                    type: "template",
                    id: request.targetTemplateID,
                    permission: "save_image"
                )
            }
            return IDQuery(id: try await fleet.saveImage(request))
        }
        table.on(RPCCatalog.listImageRequests) { [fleet] query, _ in
            ImageRequestList(requests: try await fleet.listImageRequests(id: query.id))
        }
    }
}
