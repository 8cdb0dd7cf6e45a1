import Foundation
import Persistence
import WireProtocol

/// Template content on nodes: distributions (pre-loading), removal, and what nodes hold.
extension Fleet {
    /// Starts a distribution (Anka `POST /api/v1/registry/vm/distribute`) and returns its id.
    ///
    /// Each target node gets a `pull_template` command through its outbox, so a node that is
    /// offline now pulls when it reconnects. `permitted` limits the nodes (resource management).
    func distribute(_ request: DistributeRequest, permitted: Set<String>?) async throws -> String {
        guard !request.templateID.isEmpty else { throw ControlPlaneError.badRequest("template_id is required") }
        guard let (template, versions) = try await database.templateWithVersions(id: request.templateID) else {
            throw ControlPlaneError.notFound("No such template \(request.templateID)")
        }
        let version: TemplateVersionRow?
        if !request.tag.isEmpty {
            version = versions.first { $0.tag == request.tag }
        } else if let number = request.number {
            version = versions.first { $0.number == number }
        } else {
            version = versions.first
        }
        guard let version else {
            throw ControlPlaneError.notFound("template \(template.name) has no such tag or version")
        }
        var targets: [String]
        if !request.nodeIDs.isEmpty {
            for id in request.nodeIDs where nodes[id] == nil {
                throw ControlPlaneError.notFound("No such node \(id)")
            }
            targets = Array(Set(request.nodeIDs))
        } else if !request.groupID.isEmpty {
            guard groups[request.groupID] != nil else {
                throw ControlPlaneError.notFound("No such group \(request.groupID)")
            }
            targets = nodes.keys.filter { groups.memberships[$0]?.contains(request.groupID) ?? false }
        } else {
            targets = Array(nodes.keys)
        }
        if let permitted { targets = targets.filter { permitted.contains($0) } }
        targets.sort()
        guard !targets.isEmpty else { throw ControlPlaneError.badRequest("no node to distribute to") }
        let id = RandomID.uuid()
        let now = BerthDatabase.nowMicros()
        try await database.insertDistribution(
            DistributionRow(id: id, templateId: template.id, tag: version.tag, requestedAt: now),
            nodes: targets.map { DistributionNodeRow(distributionId: id, nodeId: $0) }
        )
        let payload = TemplateCommand(
            distributionID: id,
            templateID: template.id,
            tag: version.tag,
            templateName: template.name
        ).encodedBytes()
        for nodeID in targets where nodes[nodeID] != nil {
            queueCommand(nodeID: nodeID, instanceID: "", kind: "pull_template", payload: payload, now: now)
        }
        try await journal.durable(journal.latest)
        for nodeID in targets { await flushCommands(nodeID: nodeID) }
        logger.info(
            "distribution requested",
            metadata: ["id": "\(id)", "template": "\(template.name):\(version.tag)", "nodes": "\(targets.count)"]
        )
        return id
    }

    func listDistributions(id: String) async throws -> [DistributionRecord] {
        let rows = try await database.distributions(id: id)
        if !id.isEmpty && rows.isEmpty { throw ControlPlaneError.notFound("No such distribution request \(id)") }
        return rows.map { row, nodes in
            var record = DistributionRecord()
            record.id = row.id
            record.templateID = row.templateId
            record.tag = row.tag
            record.requestedAtMicros = Int(row.requestedAt)
            record.cancelled = row.cancelled
            record.nodes = nodes.map {
                DistributionNodeStatus(
                    nodeID: $0.nodeId,
                    progress: $0.progress,
                    done: $0.done,
                    error: $0.error,
                    bytesFetched: Int($0.bytesFetched)
                )
            }
            return record
        }
    }

    /// Cancels a distribution: nodes still pulling stop (their pull is dropped).
    func cancelDistribution(id: String) async throws {
        guard !id.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        let pending: [String]
        do {
            pending = try await database.cancelDistribution(id: id)
        } catch let error as PersistenceError {
            throw ControlPlaneError(error, otherwise: .notFound)
        }
        let now = BerthDatabase.nowMicros()
        let payload = TemplateCommand(distributionID: id, templateID: "").encodedBytes()
        for nodeID in pending where nodes[nodeID] != nil {
            queueCommand(nodeID: nodeID, instanceID: "", kind: "cancel_pull", payload: payload, now: now)
        }
        try await journal.durable(journal.latest)
        for nodeID in pending { await flushCommands(nodeID: nodeID) }
    }

    /// A node reports a distribution's progress.
    func pullProgressed(nodeID: String, _ progress: PullProgress) async {
        var row = DistributionNodeRow(distributionId: progress.distributionID, nodeId: nodeID)
        row.progress = min(1, max(0, progress.progress))
        row.done = progress.done && progress.error.isEmpty
        row.error = progress.done ? progress.error : ""
        row.bytesFetched = Int64(progress.bytesFetched)
        do {
            try await database.updateDistributionNode(row)
            events.publish(
                .distribution(id: row.distributionId, nodeID: nodeID, done: progress.done, error: row.error)
            )
        } catch {
            logger.error("could not save distribution progress", metadata: ["error": "\(error)"])
        }
    }

    /// Asks nodes to drop a template from their caches (Anka `DELETE /api/v1/registry/vm/remove`).
    /// Every enrolled node when `nodeIDs` is empty. Returns the nodes asked.
    func removeTemplateFromNodes(_ request: RemoveFromNodesRequest, permitted: Set<String>?) async throws -> [String] {
        guard !request.templateID.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        for id in request.nodeIDs where nodes[id] == nil { throw ControlPlaneError.notFound("No such node \(id)") }
        var targets = request.nodeIDs.isEmpty ? Array(nodes.keys) : Array(Set(request.nodeIDs))
        if let permitted { targets = targets.filter { permitted.contains($0) } }
        targets.sort()
        let now = BerthDatabase.nowMicros()
        let payload = TemplateCommand(templateID: request.templateID).encodedBytes()
        for nodeID in targets {
            queueCommand(nodeID: nodeID, instanceID: "", kind: "remove_template", payload: payload, now: now)
        }
        try await journal.durable(journal.latest)
        for nodeID in targets { await flushCommands(nodeID: nodeID) }
        return targets
    }

    /// A node reports what its cache holds now.
    func cacheReported(nodeID: String, _ report: CacheReport) async {
        guard var node = nodes[nodeID] else { return }
        node.templates = TemplateSet(report.templates).encodedBytes()
        node.cacheBytes = report.cacheBytes
        nodes[nodeID] = node
        journal.append(.node(node))
        let saved = journal.append(.templatesHeld(nodeID: nodeID, versions: report.templates.map(\.versionKey)))
        do {
            try await journal.durable(saved)
            events.publish(.nodeCache(id: nodeID))
        } catch {
            logger.error("could not save a node's cache report", metadata: ["node": "\(nodeID)", "error": "\(error)"])
        }
    }
}
