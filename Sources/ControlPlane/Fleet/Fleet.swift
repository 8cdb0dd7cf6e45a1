import Foundation
import Logging
import NIOCore
import Persistence
import TLSTransport
import WireProtocol

/// The control plane's live state: node sessions, the scheduler and the instance lifecycle.
///
/// Nodes, instances and the command outbox are held in memory, loaded at start, and
/// memory is their authority. A method reads and changes them with no suspension in
/// between and appends the result to ``journal`` in the same step; it then waits for the
/// change to be durable before it acknowledges anyone or sends a command. So a reconnect
/// cannot roll back an operator's change made meanwhile, a deleted node cannot come back,
/// two sessions of one node cannot both be registered, and scheduling reads capacity from
/// indexes kept up to date instead of from every live instance. Heartbeats do not pass
/// through here (they update the session) and are flushed in batches by ``sweep()``.
actor Fleet {
    let database: BerthDatabase
    /// Writes node changes to storage in the order they were made here, in batches.
    let journal: FleetJournal
    /// Creates instances, concurrent requests sharing one transaction.
    let creator: InstanceCreator
    let configuration: ControlPlaneConfiguration
    let revocations: RevocationSet
    let logger: Logger
    let events: FleetEventHub
    let scheduler = Scheduler()
    /// Set when resource management is on: limits placement per permission group.
    let permissions: PermissionStore?
    let registry: Registry
    let metrics: ControlPlaneMetrics

    /// Every enrolled node.
    var nodes = NodeKeyedTable<NodeRow>()
    /// How many nodes are enrolled.
    var nodeCount: Int { nodes.count }
    /// Every instance not purged yet, with the scheduler's indexes.
    var instances = InstanceTable()
    /// Node groups and memberships.
    var groups = GroupTable()
    /// Commands nodes have not acknowledged, and the issuing of new ones.
    var outbox = CommandOutbox(epochs: [], lastID: 0, pending: [])
    /// Connected nodes.
    var links = NodeKeyedTable<NodeLink>() {
        // No `oldValue`: so a change of one link stays in place instead of copying them all.
        didSet { pings.update(sessions: links.count) }
    }
    /// How often idle peers are pinged, stretched as more nodes connect.
    let pings: PingSchedule
    /// Nodes whose connection was lost (no goodbye), not yet `Offline`: they keep the state
    /// they had until the offline timeout passes without a reconnect.
    var reconnecting: [String: Reconnecting] = [:]
    /// Connected gateways by connection id.
    var gateways: [UInt64: PeerSession] = [:]

    /// Log requests sent to nodes, by request id.
    /// Log requests in flight, keyed by the node asked and the request id, so that one node
    /// cannot answer (or spoil) a request sent to another.
    var logWaiters: [LogWaiterKey: CheckedContinuation<LogChunk, any Error>] = [:]
    var nextLogRequest: UInt64 = 1

    /// Heartbeat figures as last written per connected node, so a flush writes only nodes
    /// whose figures moved (or that were last written a while ago).
    var storedFigures: [String: StoredFigures] = [:]

    /// Each node's held templates, decoded once per change (scheduling passes read them).
    var heldTemplates = HeldTemplatesCache()
    /// The scheduler's nodes, rebuilt between passes only where something changed.
    /// Where environments' creation, expiry and destruction are recorded.
    let eventLog: EventLog?
    /// Every environment, live and ended, by id.
    var environments: [String: EnvironmentRow] = [:]
    /// Instances whose restart policy has a restart due, with when (``issueDueRestarts(now:)``).
    var pendingRestarts: [String: Int64] = [:]
    var schedulingView = SchedulingView()
    var schedulingRunning = false
    var schedulingRequested = false
    var lastStatsFlush = NIODeadline.now()
    var lastPurge = NIODeadline.now()
    var lastChunkCollection = NIODeadline.now()
    /// The dashboard's samples; the first is taken on the first sweep.
    var history: FleetSampleRing
    var lastSample = NIODeadline.uptimeNanoseconds(0)

    init(
        database: BerthDatabase,
        configuration: ControlPlaneConfiguration,
        revocations: RevocationSet,
        events: FleetEventHub,
        permissions: PermissionStore? = nil,
        metrics: ControlPlaneMetrics = ControlPlaneMetrics(),
        eventLog: EventLog? = nil,
        logger: Logger
    ) {
        self.metrics = metrics
        self.eventLog = eventLog
        let contentRoot =
            configuration.contentDirectory
            ?? URL(fileURLWithPath: database.path).deletingLastPathComponent().appendingPathComponent("chunks")
        self.registry = Registry(database: database, content: ContentStore(root: contentRoot, database: database))
        self.journal = FleetJournal(store: database, logger: logger, metrics: metrics)
        self.creator = InstanceCreator(store: database, drawMACs: configuration.macRange != nil, metrics: metrics)
        self.events = events
        self.history = FleetSampleRing(capacity: Int(3600 / max(1, configuration.historyInterval)))
        self.permissions = permissions
        self.database = database
        self.configuration = configuration
        self.revocations = revocations
        self.logger = logger
        self.pings = PingSchedule(
            base: configuration.pingInterval,
            budget: configuration.pingBudget,
            // Two intervals (the least a node waits before dropping) stay under the offline timeout.
            ceiling: min(configuration.heartbeatInterval, configuration.offlineTimeout / 3),
            deadAfterPings: configuration.nodeDeadAfterPings
        )
    }

    /// Loads nodes (all `Offline` until they reconnect), instances and the outbox. The
    /// control plane's command epoch must have begun.
    func load() async throws {
        try await database.markAllNodesOffline()
        for node in try await database.nodes() { nodes[node.id] = node }
        instances = InstanceTable(try await database.instances())
        loadPendingRestarts()
        for environment in try await database.environments() { environments[environment.id] = environment }
        groups = GroupTable(groups: try await database.groups(), memberships: try await database.groupMemberships())
        let history = try await database.commandHistory()
        outbox = CommandOutbox(
            epochs: history.epochs,
            lastID: history.lastID,
            pending: try await database.pendingCommands()
        )
    }

    // MARK: node sessions

    /// Registers a node after its hello, reconciles what it reports, and returns the welcome.
    ///
    /// Commands are not sent until ``nodeReady(_:)``, which the caller invokes after
    /// writing the welcome, so the welcome is always the first frame the node reads.
    ///
    /// The session is registered, and a previous session of the node closed, before the
    /// first suspension: of two sessions with one certificate the later one wins, and the
    /// earlier one is closed whatever order their steps interleave in. After each suspension
    /// the method stops if the session was replaced or the node deleted meanwhile.
    func nodeConnected(_ session: PeerSession, hello: Hello, version: UInt32) async throws -> Welcome {
        let nodeID = session.identity.id
        guard var node = nodes[nodeID] else {
            throw WireError(.unauthenticated, "node \(nodeID) is not enrolled (deleted?)")
        }
        reconnecting.removeValue(forKey: nodeID)
        storedFigures.removeValue(forKey: nodeID)
        if let previous = links.removeValue(forKey: nodeID) {
            logger.info("node reconnected; closing its previous connection", metadata: ["node": "\(nodeID)"])
            previous.session.close(with: WireError(.goingAway, "replaced by a newer connection"))
        }
        let now = BerthDatabase.nowMicros()
        Self.describe(&node, from: hello)
        node.state = "Active"
        node.lastSeen = now
        nodes[nodeID] = node
        // Not ready: no commands and no placements until the welcome is out.
        links[nodeID] = NodeLink(session: session, lastSentCommandID: 0)
        let saved = journal.append(.node(node))
        if !hello.templates.isEmpty {
            journal.append(.templatesHeld(nodeID: nodeID, versions: hello.templates.map(\.versionKey)))
        }
        do {
            try await journal.durable(saved)
            try ensureCurrent(session)
            // What the node applied counts only as far as this database's history agrees; the
            // rest of the outbox is sent (a restored database's new commands included).
            let applied = outbox.agreed(
                epoch: Int64(bitPattern: hello.lastAppliedEpoch),
                id: Int64(clamping: hello.lastAppliedCommandID)
            )
            if applied.through > 0 {
                outbox.acknowledge(through: applied.through, nodeID: nodeID)
                journal.append(.commandsAcknowledged(nodeID: nodeID, through: applied.through, at: now))
            }
            if applied.diverged {
                logger.warning(
                    "node applied commands this database does not have (restored from a backup?); sending its outbox again",
                    metadata: [
                        "node": "\(nodeID)", "nodeEpoch": "\(hello.lastAppliedEpoch)",
                        "nodeCommand": "\(hello.lastAppliedCommandID)", "agreedThrough": "\(applied.through)",
                    ]
                )
            }
            let changed = reconcile(
                nodeID: nodeID,
                reported: hello.instances,
                pendingEvents: Set(hello.pendingEventInstances),
                now: now
            )
            try await journal.durable(journal.latest)
            for id in changed { publishInstance(id: id) }
            try ensureCurrent(session)
            links[nodeID]?.lastSentCommandID = applied.through
        } catch {
            // The session does not become the node's; a newer one may already be.
            if links[nodeID]?.session === session { links.removeValue(forKey: nodeID) }
            throw error
        }
        events.publish(.node(id: nodeID, state: "Active"))
        logger.info(
            "node connected",
            metadata: ["node": "\(nodeID)", "name": "\(node.name)", "instances": "\(hello.instances.count)"]
        )
        var welcome = Welcome(
            version: version,
            capabilities: [CertificateRenewal.capability],
            heartbeatIntervalMillis: UInt64(configuration.heartbeatInterval * 1000),
            peerID: nodeID,
            serverTimeMicros: Int(now)
        )
        (welcome.pingIntervalMillis, welcome.deadAfterPings) = pings.current
        return welcome
    }

    /// Throws unless `session` is still its node's registered session (after a suspension:
    /// a newer connection or a delete may have come meanwhile).
    private func ensureCurrent(_ session: PeerSession) throws {
        let nodeID = session.identity.id
        guard nodes[nodeID] != nil else {
            throw WireError(.unauthenticated, "node \(nodeID) was deleted")
        }
        guard links[nodeID]?.session === session else {
            throw WireError(.goingAway, "replaced by a newer connection")
        }
    }

    /// Copies what a node says of itself in its hello onto its row. What an operator set
    /// (drain, capacity mode, overrides, host, a configured capacity) is kept.
    static func describe(_ node: inout NodeRow, from hello: Hello) {
        if !hello.nodeName.isEmpty { node.name = String(hello.nodeName.prefix(128)) }
        if let resources = hello.resources {
            node.cpuCount = resources.cpuCount
            node.ramMb = resources.ramMB
            node.arch = resources.arch
            node.ipAddress = resources.hostIP
            node.diskSize = resources.diskSizeBytes
            node.freeDisk = resources.freeDiskBytes
            node.vlans = resources.vlans.filter { !$0.contains("\n") }.joined(separator: "\n")
            node.usbDevices = resources.usbDevices
                .filter { !"\($0.name)\($0.id)".contains(where: { $0 == "\n" || $0 == "\t" }) }
                .map { "\($0.name)\t\($0.id)" }
                .joined(separator: "\n")
            if resources.maxVMCount > 0 && !node.capacityConfigured { node.maxVmCount = resources.maxVMCount }
        }
        node.agentVersion = hello.agentVersion
        node.templates = TemplateSet(hello.templates).encodedBytes()
        node.cacheBytes = hello.cacheBytes
    }

    /// A node enrolled: from now on it may connect.
    func nodeEnrolled(_ node: NodeRow) {
        if nodes[node.id] == nil { nodes[node.id] = node }
    }

    /// The welcome is on the wire: send pending commands and let the scheduler use the node.
    func nodeReady(_ session: PeerSession) async {
        let nodeID = session.identity.id
        guard links[nodeID]?.session === session else { return }
        links[nodeID]?.ready = true
        await flushCommands(nodeID: nodeID)
        requestScheduling()
    }

    /// The node's connection ended.
    ///
    /// A node that said goodbye is `Offline` at once. One whose connection was lost keeps
    /// its state while it reconnects: it becomes `Offline` only when the control plane has
    /// heard nothing from it for the offline timeout (see ``sweep()``), so a partition
    /// shorter than that causes no Offline episode.
    func nodeDisconnected(_ session: PeerSession) async {
        let nodeID = session.identity.id
        guard let link = links[nodeID], link.session === session else { return }
        links.removeValue(forKey: nodeID)
        if let heartbeat = session.heartbeat.withLock({ $0 }), var node = nodes[nodeID] {
            apply(heartbeat, to: &node)
            nodes[nodeID] = node
        }
        let silence = session.idleSeconds()
        if session.hasLeftCleanly || silence > configuration.offlineTimeout {
            await markOffline(
                nodeID,
                session: session,
                reason: session.hasLeftCleanly ? "node left" : "node disconnected"
            )
            return
        }
        // Shown as it was (a connection that dropped during its setup was Active already).
        reconnecting[nodeID] = Reconnecting(
            lastHeard: session.activity.lastInbound,
            state: link.updating ? "Updating" : "Active"
        )
        logger.info(
            "node connection lost; waiting for it to reconnect",
            metadata: [
                "node": "\(nodeID)",
                "silentFor": "\(String(format: "%.1f", silence))s",
                "offlineAfter": "\(Int(configuration.offlineTimeout))s",
            ]
        )
    }

    /// Saves and announces that a node is `Offline`.
    func markOffline(_ nodeID: String, session: PeerSession?, reason: String) async {
        reconnecting.removeValue(forKey: nodeID)
        guard var node = nodes[nodeID] else { return }
        node.state = "Offline"
        if let session {
            node.lastSeen = BerthDatabase.nowMicros() - Int64(session.idleSeconds() * 1_000_000)
        }
        nodes[nodeID] = node
        var saved = journal.append(.node(node))
        logger.info("node is Offline", metadata: ["node": "\(nodeID)", "reason": "\(reason)"])
        // A node lost while its VMs ran is a failure to the restart policies: those
        // instances are placed again elsewhere.
        let now = BerthDatabase.nowMicros()
        var replaced: [String] = []
        for var instance in instances.live(on: nodeID) where instance.state == "Started" {
            guard applyRestartPolicy(nodeLost: &instance, nodeID: nodeID, now: now) else { continue }
            instance.recordStop(.nodeLost, by: "node \(nodeID)", at: now)
            instance.ts = now
            saved = save(instance)
            replaced.append(instance.id)
        }
        if !replaced.isEmpty {
            for id in replaced { publishInstance(id: id) }
            requestScheduling()
        }
        // Announced once stored, without holding up the caller (a sweep may take many nodes
        // Offline at once). A failed write is retried by the journal; memory is in force.
        Task {
            try? await journal.durable(saved)
            announceOffline(nodeID)
        }
    }

    /// Publishes `Offline` for a node unless it came back (or was deleted) meanwhile.
    private func announceOffline(_ nodeID: String) {
        guard links[nodeID] == nil, nodes[nodeID]?.state == "Offline" else { return }
        events.publish(.node(id: nodeID, state: "Offline"))
    }

    /// Ends the sessions of peers whose certificates were just revoked.
    func dropRevoked(_ serials: Set<String>) async {
        for (nodeID, link) in links where link.session.isRevoked(by: serials.contains) {
            guard links[nodeID]?.session === link.session else { continue }
            logger.notice("closing a revoked node's connection", metadata: ["node": "\(nodeID)"])
            link.session.close(with: WireError(.unauthenticated, "the certificate of node \(nodeID) is revoked"))
            links.removeValue(forKey: nodeID)
            await markOffline(nodeID, session: link.session, reason: "certificate revoked")
        }
        for (id, gateway) in gateways where gateway.isRevoked(by: serials.contains) {
            logger.notice("closing a revoked gateway's connection", metadata: ["gateway": "\(gateway.identity.id)"])
            gateway.close(with: WireError(.unauthenticated, "the certificate of gateway \(id) is revoked"))
            gateways.removeValue(forKey: id)
        }
    }

    func gatewayConnected(_ session: PeerSession) {
        gateways[session.connectionID] = session
    }

    func gatewayDisconnected(_ session: PeerSession) {
        gateways.removeValue(forKey: session.connectionID)
    }

    /// Brings the fleet in line with what a (re)connecting node runs, in one step, and
    /// returns the instances it changed.
    ///
    /// Instances in `pendingEvents` are left alone: the node sends their unacknowledged
    /// events right after the welcome, and those, applied in order, say what became of
    /// them. Judging them by the hello first would show an instance that ended while the
    /// node was away as lost (`Error`) until its own events arrived.
    private func reconcile(
        nodeID: String,
        reported: [InstanceStatus],
        pendingEvents: Set<String>,
        now: Int64
    ) -> [String] {
        var changed: [String] = []
        let live = instances.live(on: nodeID)
        let known = live.filter { !pendingEvents.contains($0.id) }
        let pendingStarts = outbox.pendingStarts(nodeID: nodeID)
        let reportedByID = Dictionary(reported.map { ($0.instanceID, $0) }, uniquingKeysWith: { a, _ in a })
        for var instance in known where reportedByID[instance.id] == nil {
            if pendingStarts.contains(instance.id) { continue }
            if instance.state == "Terminating" {
                instance.state = "Terminated"
                instance.message = ""
            } else if applyRestartPolicy(nodeLost: &instance, nodeID: nodeID, now: now) {
                instance.recordStop(.nodeLost, by: "node \(nodeID)", at: now)
            } else {
                instance.state = "Error"
                instance.message = "node \(nodeID) reconnected without this instance"
                instance.recordStop(.nodeLost, by: "node \(nodeID)", at: now)
                logger.warning("instance lost on node", metadata: ["node": "\(nodeID)", "instance": "\(instance.id)"])
            }
            instance.ts = now
            save(instance)
            changed.append(instance.id)
        }
        let liveIDs = Set(live.map(\.id))
        let knownIDs = Set(known.map(\.id))
        for status in reported where !liveIDs.contains(status.instanceID) {
            if var row = instances[status.instanceID], InstanceTable.isQueued(row), Self.isRunning(status.state) {
                // Queued here, running there: placed after the backup this state was restored
                // from (a durable placement never leaves a node running what memory queues).
                // Adopt it where it runs rather than stop it and start it a second time.
                row.nodeId = nodeID
                row.waitReason = ""
                save(row)
                let (outcome, _) = applyReport(TransitionReport(status, nodeID: nodeID, ts: now, epoch: -1, sequence: 0))
                if case .applied = outcome { changed.append(status.instanceID) }
                logger.notice(
                    "adopted an instance the node runs that this state still queued (restored from a backup?)",
                    metadata: ["node": "\(nodeID)", "instance": "\(status.instanceID)"]
                )
                continue
            }
            // Not ours (or already ended here, or placed again elsewhere after this node was
            // lost): tell the node to remove it. Its end is not reported against the
            // instance, which is placed on another node.
            if let row = instances[status.instanceID], row.nodeId == nodeID, row.restartAt > 0 {
                continue  // ended here on its own, and its restart policy will start it again
            }
            queueCommand(nodeID: nodeID, instanceID: status.instanceID, kind: "terminate", payload: nil, now: now)
            logger.info(
                "terminating an instance the controller does not run there",
                metadata: ["node": "\(nodeID)", "instance": "\(status.instanceID)"]
            )
        }
        for status in reported where knownIDs.contains(status.instanceID) {
            // Hello reports are not events: epoch -1 never collides with an agent's key.
            let (outcome, _) = applyReport(TransitionReport(status, nodeID: nodeID, ts: now, epoch: -1, sequence: 0))
            if case .applied = outcome { changed.append(status.instanceID) }
        }
        return changed
    }

    /// Whether a node's report shows a VM that exists there (not one ending or ended).
    static func isRunning(_ state: InstanceState) -> Bool {
        state == .started || state == .stopped || state == .stopping || state == .pulling
    }

    /// Publishes an instance as memory holds it now.
    func publishInstance(id: String) {
        if let row = instances[id] { events.publish(.instance(InstanceRecord(row))) }
    }

    func apply(_ heartbeat: Heartbeat, to node: inout NodeRow) {
        node.cpuUtil = heartbeat.cpuUtil
        node.ramUtil = heartbeat.ramUtil
        if heartbeat.freeDiskBytes > 0 { node.freeDisk = heartbeat.freeDiskBytes }
    }

    // MARK: liveness

    /// The shared timer's tick: drop silent peers, flush heartbeat figures, purge old instances.
    func sweep() async {
        let now = NIODeadline.now()
        // A session still being set up (its hello waits for storage) is not judged yet.
        for (nodeID, link) in links
        where link.ready && link.session.idleSeconds(now: now) > configuration.offlineTimeout {
            // The loop awaits: a node may have reconnected since the snapshot was taken.
            guard links[nodeID]?.session === link.session else { continue }
            logger.warning(
                "node missed its heartbeats; closing its connection",
                metadata: ["node": "\(nodeID)", "silentFor": "\(Int(link.session.idleSeconds(now: now)))s"]
            )
            link.session.close(
                with: WireError(.goingAway, "no heartbeat or pong for \(Int(configuration.offlineTimeout))s")
            )
            links.removeValue(forKey: nodeID)
            await markOffline(nodeID, session: link.session, reason: "silent for the offline timeout")
        }
        let timeout = Int64(configuration.offlineTimeout * 1e9)
        for (nodeID, lost) in reconnecting where now - lost.lastHeard > .nanoseconds(timeout) {
            guard reconnecting[nodeID]?.lastHeard == lost.lastHeard, links[nodeID] == nil else { continue }
            await markOffline(nodeID, session: nil, reason: "did not reconnect within the offline timeout")
        }
        for (_, gateway) in gateways where gateway.idleSeconds(now: now) > configuration.offlineTimeout {
            logger.warning(
                "gateway went silent; closing its connection",
                metadata: ["gateway": "\(gateway.identity.id)"]
            )
            gateway.close(with: WireError(.goingAway, "no ping for \(Int(configuration.offlineTimeout))s"))
            gatewayDisconnected(gateway)
        }
        if !pendingRestarts.isEmpty { await issueDueRestarts(now: BerthDatabase.nowMicros()) }
        if !environments.isEmpty { await expireEnvironments(now: BerthDatabase.nowMicros()) }
        if now - lastStatsFlush >= .milliseconds(Int64(configuration.heartbeatInterval * 1000)) {
            lastStatsFlush = now
            await flushHeartbeats()
            requestScheduling()
        }
        if now - lastPurge >= .seconds(60) {
            lastPurge = now
            let cutoff = BerthDatabase.nowMicros() - Int64(configuration.terminatedRetention * 1_000_000)
            purgeTerminated(before: cutoff)
            do {
                // Acknowledged commands have done their work; nothing reads them again.
                try await database.purgeAcknowledgedCommands(before: BerthDatabase.nowMicros())
            } catch {
                logger.error("purge failed", metadata: ["error": "\(error)"])
            }
        }
        await recordSampleIfDue(now: now)
        if now - lastChunkCollection >= .seconds(3600) {
            // Chunks of pushes that never committed (an interrupted upload or save image).
            lastChunkCollection = now
            let content = registry.content
            let logger = self.logger
            Task {
                do {
                    let collected = try await content.collectGarbage()
                    if collected > 0 {
                        logger.info("collected unreferenced chunks", metadata: ["count": "\(collected)"])
                    }
                } catch {
                    logger.error("chunk collection failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Writes the latest heartbeat figures of every connected node in one transaction.
    /// Writes connected nodes' heartbeat figures to storage in one batch: those that moved
    /// by at least ``StoredFigures/threshold`` or were last written ``StoredFigures/refresh``
    /// ago, or all with `all` (at shutdown). The API reads live figures from memory; storage
    /// serves nodes while they are away and after a restart.
    func flushHeartbeats(all: Bool = false) async {
        var changed: [HeartbeatFigures] = []
        let now = BerthDatabase.nowMicros()
        let instant = NIODeadline.now()
        for (nodeID, link) in links {
            guard var node = nodes[nodeID], let heartbeat = link.session.heartbeat.withLock({ $0 }) else { continue }
            apply(heartbeat, to: &node)
            node.lastSeen = now - Int64(link.session.idleSeconds() * 1_000_000)
            nodes[nodeID] = node
            let figures = StoredFigures(node, at: instant)
            if !all, let stored = storedFigures[nodeID], !figures.isWorthWriting(over: stored) { continue }
            storedFigures[nodeID] = figures
            changed.append(
                HeartbeatFigures(
                    nodeID: nodeID,
                    cpuUtil: node.cpuUtil,
                    ramUtil: node.ramUtil,
                    freeDisk: node.freeDisk,
                    lastSeen: node.lastSeen
                )
            )
        }
        guard !changed.isEmpty else { return }
        // Journaled, not awaited: the flush is a refresh, and the journal retries a failure.
        journal.append(.heartbeatFigures(changed))
    }
}
