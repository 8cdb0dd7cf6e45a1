import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Persistence
import ServiceLifecycle
import Synchronization
import TLSTransport
import WireProtocol

/// The control plane: the one process that owns state.
///
/// Listens on one TLS 1.3 port for nodes (mTLS), gateways (mTLS) and enrolling nodes
/// (server-authenticated TLS), runs the scheduler and the liveness sweep, and persists
/// every accepted change in SQLite before acknowledging it.
///
/// ```swift
/// let controlPlane = try await ControlPlane(configuration: config, database: db, authority: ca, serverIdentity: id)
/// let port = try await controlPlane.bind()
/// try await controlPlane.run()   // until cancelled or graceful shutdown
/// ```
public final class ControlPlane: Service, Sendable {
    public let configuration: ControlPlaneConfiguration
    public let database: BerthDatabase
    public let authority: CertificateAuthority
    public let enrollment: EnrollmentService
    public let revocations: RevocationSet
    /// Every persisted change, for tests, watchers and (later) live views.
    public let events = FleetEventHub()
    let fleet: Fleet
    let keys: KeyStore
    let authorizer: Authorizer
    let eventLog: EventLog
    let serverIdentity: TLSIdentity
    let logger: Logger
    let group: any EventLoopGroup
    private let listener = Mutex<NIOAsyncChannel<Void, Never>?>(nil)
    private let nextConnectionID = Atomic<UInt64>(1)
    /// Serves accepted connections (through each one's `PeerConnectionHandler`).
    let connectionService: ConnectionService
    /// Caps and deadlines for connections that have not authenticated yet.
    public let admission: ConnectionAdmission
    /// The series `--metrics-port` serves (``scrapeMetrics()``).
    public let metrics = ControlPlaneMetrics()
    /// Handshake failures already added to the counter, so each scrape adds what is new.
    let reportedHandshakeFailures = Mutex(0)

    /// Loads state from `database` (revocations, nodes) and prepares to serve.
    public init(
        configuration: ControlPlaneConfiguration,
        database: BerthDatabase,
        authority: CertificateAuthority,
        serverIdentity: TLSIdentity,
        logger: Logger = Logger(label: "berth.controlplane"),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        let clock = ContinuousClock()
        let loadStarted = clock.now
        self.configuration = configuration
        self.database = database
        self.authority = authority
        self.serverIdentity = serverIdentity
        self.logger = logger
        self.group = group
        self.admission = ConnectionAdmission(limits: configuration.admissionLimits)
        self.revocations = RevocationSet(try await database.revokedSerials())
        self.eventLog = EventLog(database: database, logger: logger)
        let permissions = try await PermissionStore(database: database)
        self.authorizer = Authorizer(store: permissions, configuration: configuration)
        let fleet = Fleet(
            database: database,
            configuration: configuration,
            revocations: revocations,
            events: events,
            permissions: authorizer.resourceManagement ? permissions : nil,
            metrics: metrics,
            eventLog: eventLog,
            logger: logger
        )
        self.fleet = fleet
        self.enrollment = EnrollmentService(
            database: database,
            authority: authority,
            certificateValidity: configuration.nodeCertificateValidity,
            gatewayCertificateValidity: configuration.gatewayCertificateValidity,
            logger: logger,
            enrolled: { node in await fleet.nodeEnrolled(node) }
        )
        self.keys = KeyStore(database: database, configuration: configuration, logger: logger)
        self.connectionService = ConnectionService(
            fleet: fleet,
            enrollment: enrollment,
            dispatcher: RPCDispatcher(
                fleet: fleet,
                keys: keys,
                authorizer: authorizer,
                eventLog: eventLog,
                enrollment: enrollment,
                configuration: configuration,
                metrics: metrics,
                logger: logger
            ),
            revocations: revocations,
            connections: OpenConnections(),
            tunnels: TunnelRelay(
                limits: .init(
                    perNode: configuration.maxTunnelsPerNode,
                    perInstance: configuration.maxTunnelsPerInstance
                ),
                eventLog: eventLog,
                events: fleet.events,
                logger: logger
            ),
            logger: logger
        )
        if configuration.eventWebhook != nil { try await WebhookPusher.startingCursor(database) }
        // Every start is a new command epoch, so that ids a restored database issues again
        // are new to nodes (docs/decisions.md, "Command epochs").
        let epoch = try await database.beginCommandEpoch(now: BerthDatabase.nowMicros())
        logger.debug("command epoch", metadata: ["epoch": "\(epoch)"])
        let fleetStarted = clock.now
        try await fleet.load()
        await fleet.undoInterruptedCreates()
        let fleetLoaded = clock.now
        try await keys.load()
        if let range = configuration.macRange {
            // Anka fills its pool at start; PUT /api/v1/macaddr does it again on demand.
            try await database.populateMACs(first: range.lowerBound, last: range.upperBound)
        }
        // How long the state load took, and the fleet's part of it: on a replica it is
        // part of every failover (docs/ha.md).
        let nodeCount = await fleet.nodeCount
        logger.info(
            "state loaded",
            metadata: [
                "seconds": "\(Self.rounded(clock.now - loadStarted))",
                "fleetSeconds": "\(Self.rounded(fleetLoaded - fleetStarted))",
                "nodes": "\(nodeCount)",
            ]
        )
    }

    /// Binds the listener and returns the port (useful with port 0).
    @discardableResult
    public func bind() async throws -> Int {
        if let existing = listener.withLock({ $0 }) { return existing.channel.localAddress?.port ?? configuration.port }
        let service = connectionService
        let server = try await NodePort.bind(
            configuration,
            identity: serverIdentity,
            authority: authority,
            group: group,
            admission: admission,
            liveness: LivenessOptions(pace: fleet.pings.pace),
            // Data a node has not acknowledged for the offline timeout aborts its
            // connection in the kernel as well, instead of retransmitting for minutes.
            userTimeout: .milliseconds(Int64(configuration.offlineTimeout * 1000))
        ) { channel in
            let id = self.nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
            try channel.pipeline.syncOperations.addHandler(PeerConnectionHandler(service: service, connectionID: id))
        }
        listener.withLock { $0 = server }
        let port = server.channel.localAddress?.port ?? configuration.port
        logger.info(
            "control plane listening",
            metadata: ["address": "\(configuration.host):\(port)", "ca": "\(authority.pin)"]
        )
        return port
    }

    /// Serves connections and runs the liveness sweep until cancelled or shut down gracefully.
    public func run() async throws {
        try await bind()
        guard let server = listener.withLock({ $0 }) else { return }
        do {
            try await withGracefulShutdownHandler {
                try await withThrowingDiscardingTaskGroup { group in
                    let fleetEvents = events.subscribe()
                    group.addTask { [eventLog] in await eventLog.follow(fleetEvents) }
                    if let url = configuration.eventWebhook {
                        let pusher = WebhookPusher(
                            url: url,
                            secret: configuration.eventWebhookSecret,
                            database: database,
                            log: eventLog,
                            logger: logger
                        )
                        group.addTask { await pusher.run() }
                    }
                    group.addTask { [authority, serverIdentity, logger] in
                        // The CA's and the server certificate's expiry, at start and daily.
                        while !Task.isCancelled {
                            CertificateLifetimes.warnIfExpiring(authority.certificate, name: "CA", logger: logger)
                            if let leaf = serverIdentity.certificateChain.first {
                                CertificateLifetimes.warnIfExpiring(leaf, name: "control plane server", logger: logger)
                            }
                            try await Task.sleep(for: .seconds(86_400))
                        }
                    }
                    group.addTask { [database, configuration] in
                        // Event retention, checked hourly.
                        while !Task.isCancelled {
                            let cutoff = BerthDatabase.nowMicros() - Int64(configuration.eventRetention * 1_000_000)
                            _ = try? await database.purgeEvents(before: cutoff)
                            try await Task.sleep(for: .seconds(3600))
                        }
                    }
                    group.addTask { [fleet, database, revocations, configuration, logger] in
                        // Revocations made elsewhere (`berth ca revoke` on the same database).
                        var latest: Int64 = 0
                        while !Task.isCancelled {
                            do {
                                let found = try await database.serialsRevoked(after: latest)
                                latest = found.latest
                                let fresh = found.serials.filter { !revocations.isRevoked($0) }
                                for serial in fresh { revocations.revoke(serial) }
                                if !fresh.isEmpty { await fleet.dropRevoked(Set(fresh)) }
                            } catch is CancellationError {
                                return
                            } catch {
                                logger.error("could not read revocations", metadata: ["error": "\(error)"])
                            }
                            try await Task.sleep(for: .milliseconds(Int64(configuration.revocationPollInterval * 1000)))
                        }
                    }
                    group.addTask { [database, logger] in
                        // WAL checkpoints off the commit path (BerthDatabase.checkpoint()), often
                        // enough that each copies little: at 100 starts/s the log grows by up to
                        // 8,000 pages a second, and a checkpoint of a second's worth (and its
                        // fsync) stalled commits for tens of milliseconds; a quarter's did not.
                        while !Task.isCancelled {
                            try await Task.sleep(for: .milliseconds(250))
                            do {
                                try await database.checkpoint()
                            } catch is CancellationError {
                                return
                            } catch {
                                logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                    group.addTask { [admission, logger] in
                        // What the caps and the handshake gate did, when it changed: a
                        // reconnecting fleet or a flood shows here first.
                        var reported = admission.statistics
                        while !Task.isCancelled {
                            try await Task.sleep(for: .seconds(10))
                            let now = admission.statistics
                            guard now.admissionCounters != reported.admissionCounters else { continue }
                            reported = now
                            logger.info("connection admission", metadata: now.logMetadata)
                        }
                    }
                    group.addTask { [fleet, keys, configuration] in
                        let tick = Duration.milliseconds(Int64(max(50, min(1000, configuration.heartbeatInterval * 250))))
                        let purgeEvery = max(1, Int(configuration.heartbeatInterval / tick.seconds))
                        var ticks = 0
                        while !Task.isCancelled {
                            try await Task.sleep(for: tick)
                            await fleet.sweep()
                            ticks += 1
                            if ticks % purgeEvery == 0 { await keys.purgeExpired() }
                        }
                    }
                    // Each connection is served by its channel handler (`PeerConnectionHandler`);
                    // this runs the listener until it closes or the task is cancelled.
                    try await server.executeThenClose { accepted in
                        for try await _ in accepted {}
                    }
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                server.channel.close(promise: nil)
            }
        } catch {
            // Cancelled (or failed): the connections end too, as a task's children would.
            await connectionService.connections.closeAll()
            // Sessions made in the last moment, stored for the next leader; waited for no
            // longer than a second, so that a replica losing its term steps down promptly.
            let sessions: Task<Void, any Error> = Task { [keys] in await keys.sessionsStored() }
            _ = await ControlPlaneReplica.answer(of: sessions, within: .seconds(1))
            throw error
        }
        await connectionService.connections.closeAll()
        await fleet.flushHeartbeats(all: true)
        await fleet.journal.flush()
        await eventLog.flush()
        await keys.sessionsStored()
    }

    /// Deletes a node: revokes its certificate, drops its connection, ends its instances.
    public func deleteNode(id: String) async throws {
        try await fleet.deleteNode(id: id)
    }

    /// An access token for one instance, as `POST /berth/v1/vm/access-token` makes them;
    /// `issuedAt` (seconds since 1970) dates it, so tests can hold an expired one.
    public func issueAccessToken(
        instanceID: String,
        ttlSeconds: Int,
        issuer: String,
        issuedAt: Int? = nil
    ) async throws -> String {
        try await connectionService.dispatcher.accessTokens.issue(
            instanceID: instanceID,
            ttlSeconds: ttlSeconds,
            issuer: issuer,
            issuedAt: issuedAt
        ).token
    }

    /// VM access tunnels open now.
    public var openTunnels: Int { connectionService.tunnels.count }

    /// Issues a gateway client certificate (the key is made here) and records it.
    public func issueGatewayIdentity(name: String, validity: Double = 365 * 86_400) async throws -> TLSIdentity {
        try await Self.issueGatewayIdentity(name: name, authority: authority, database: database, validity: validity)
    }

    /// Issues and records a gateway certificate without a running control plane (`berth ca issue-gateway`).
    public static func issueGatewayIdentity(
        name: String,
        authority: CertificateAuthority,
        database: BerthDatabase,
        validity: Double = 365 * 86_400
    ) async throws -> TLSIdentity {
        let identity = try authority.issueIdentity(PeerIdentity(role: .gateway, id: name), validity: validity)
        let now = BerthDatabase.nowMicros()
        try await database.recordCertificate(
            CertificateRow(
                serial: identity.leaf.serialHex,
                role: "gateway",
                subjectId: name,
                issuedAt: now,
                expiresAt: Int64(identity.leaf.notValidAfter.timeIntervalSince1970 * 1_000_000)
            )
        )
        return identity
    }
}

extension ControlPlane {
    /// Seconds to the millisecond, for a log line.
    fileprivate static func rounded(_ duration: Duration) -> Double {
        (duration.seconds * 1000).rounded() / 1000
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
