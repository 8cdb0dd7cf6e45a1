import Logging
import NIOCore
import NIOPosix
import Persistence
import ServiceLifecycle
import Synchronization
import TLSTransport
import WireProtocol

/// One of several control planes on one PostgreSQL database (docs/ha.md).
///
/// Exactly one replica leads, by the lease in the database (``LeaderLease``):
/// - **Following**, it listens on its port and answers every node and gateway with the
///   leader's address (``Redirect``), and tries for the lease every ``Timing/retry``.
/// - **Leading**, it fences the engine with its epoch (every write checks it), loads the
///   state into a fresh ``ControlPlane`` and serves, renewing every ``Timing/renew``.
/// - A leader that cannot renew for ``Timing/lease`` by its own clock, or finds the lease
///   taken over, stops serving at once (its sessions close; the fence already refuses its
///   writes) and follows again with a new ``ControlPlane`` next time. Nothing of the old
///   term's memory is kept.
/// - Shut down gracefully (or cancelled), a leader releases the lease, so a follower takes
///   over without waiting for it to lapse.
public final class ControlPlaneReplica: Service, Sendable {
    /// The lease's timing, in seconds.
    public struct Timing: Sendable {
        /// How long a lease lasts unrenewed: a dead leader's successor waits at most this.
        public var lease: Double = 5
        /// How often the leader renews.
        public var renew: Double = 1
        /// How often a follower tries for the lease and rereads who leads.
        public var retry: Double = 1

        public init() {}
    }

    /// What the replica is doing now.
    public enum Role: Sendable, Equatable {
        case following(leader: String)
        case leading(epoch: Int64)
    }

    public let configuration: ControlPlaneConfiguration
    public let database: BerthDatabase
    public let authority: CertificateAuthority
    /// Where nodes and gateways reach this replica (`host:port`), written into the lease.
    public let advertisedAddress: String
    public let timing: Timing
    /// This process's id in the lease table.
    public let replicaID: String
    let serverIdentity: TLSIdentity
    let engine: PostgresEngine
    let lease: LeaderLease
    let logger: Logger
    let group: any EventLoopGroup
    private let state = Mutex<(role: Role, controlPlane: ControlPlane?)>((.following(leader: ""), nil))
    private let redirect = Mutex(Redirect(leader: "", epoch: 0))
    private let redirectCount = Atomic<Int>(0)
    private let watchers = Mutex<[UInt64: AsyncStream<Role>.Continuation]>([:])
    private let nextWatcher = Atomic<UInt64>(0)

    public init(
        configuration: ControlPlaneConfiguration,
        database: BerthDatabase,
        authority: CertificateAuthority,
        serverIdentity: TLSIdentity,
        advertisedAddress: String,
        timing: Timing = Timing(),
        logger: Logger = Logger(label: "berth.replica"),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        guard let engine = database.engine as? PostgresEngine else {
            throw ControlPlaneError(.badRequest, "replicas share a PostgreSQL database; this state is in SQLite")
        }
        guard configuration.port != 0 else {
            throw ControlPlaneError(.badRequest, "a replica needs a fixed port: it follows and leads on the same one")
        }
        self.configuration = configuration
        self.database = database
        self.authority = authority
        self.serverIdentity = serverIdentity
        self.advertisedAddress = advertisedAddress
        self.timing = timing
        self.replicaID = "cp-" + RandomID.hex(8)
        self.engine = engine
        self.lease = LeaderLease(engine: engine)
        self.logger = logger
        self.group = group
    }

    /// What the replica is doing now.
    public var role: Role { state.withLock { $0.role } }

    /// The control plane while this replica leads.
    public var controlPlane: ControlPlane? { state.withLock { $0.controlPlane } }

    /// Connections answered with the leader's address since start.
    public var redirectsSent: Int { redirectCount.load(ordering: .relaxed) }

    /// Every change of role, from now on.
    public func roleChanges() -> AsyncStream<Role> {
        let (stream, continuation) = AsyncStream.makeStream(of: Role.self, bufferingPolicy: .bufferingNewest(64))
        let id = nextWatcher.add(1, ordering: .relaxed).newValue
        continuation.onTermination = { [weak self] _ in _ = self?.watchers.withLock { $0.removeValue(forKey: id) } }
        watchers.withLock { $0[id] = continuation }
        return stream
    }

    /// Follows and leads in turn until cancelled or shut down gracefully.
    public func run() async throws {
        try await lease.prepare()
        logger.info("replica starting", metadata: ["replica": "\(replicaID)", "address": "\(advertisedAddress)"])
        while !Task.isCancelled && !isShuttingDown {
            let epoch: Int64?
            do {
                // A follower holds nothing: shutting down just stops it.
                epoch = try await cancelWhenGracefulShutdown { try await self.follow() }
            } catch is CancellationError where isShuttingDown {
                return
            }
            guard let epoch else { return }
            guard try await lead(epoch: epoch) else { return }
        }
    }

    private var isShuttingDown: Bool { Task.isShuttingDownGracefully }

    // MARK: Following

    /// Answers connections with the leader's address until the lease is taken; returns its
    /// epoch, or `nil` once shutting down.
    private func follow() async throws -> Int64? {
        let listener = try await bindFollowerListener()
        defer { listener.channel.close(promise: nil) }
        let serving = Task { try await listener.executeThenClose { accepted in for try await _ in accepted {} } }
        defer { serving.cancel() }
        var lastError = ""
        while !Task.isCancelled && !isShuttingDown {
            do {
                if let epoch = try await lease.acquire(holder: replicaID, address: advertisedAddress, ttl: timing.lease) {
                    try? await listener.channel.close()
                    _ = await serving.result
                    return epoch
                }
                let holder = try await lease.current()
                let leader = holder.flatMap { $0.expiresIn > 0 ? $0 : nil }
                redirect.withLock { $0 = Redirect(leader: leader?.address ?? "", epoch: UInt64(max(0, leader?.epoch ?? 0))) }
                setRole(.following(leader: leader?.address ?? ""), controlPlane: nil)
                lastError = ""
            } catch {
                // The database is away (or failing over): keep answering with the last leader.
                if "\(error)" != lastError { logger.warning("lease unreadable", metadata: ["error": "\(error)"]) }
                lastError = "\(error)"
            }
            try? await Task.sleep(for: .milliseconds(Int64(timing.retry * 1000)))
        }
        return nil
    }

    private func bindFollowerListener() async throws -> NIOAsyncChannel<Void, Never> {
        try await NodePort.bind(
            configuration,
            identity: serverIdentity,
            authority: authority,
            group: group,
            admission: ConnectionAdmission(limits: configuration.admissionLimits)
        ) { [self] channel in
            try channel.pipeline.syncOperations.addHandler(
                FollowerConnectionHandler(leader: { [self] in
                    redirectCount.add(1, ordering: .relaxed)
                    return redirect.withLock { $0 }
                })
            )
        }
    }

    // MARK: Leading

    /// Leads for `epoch` until the lease is lost (returns true: follow again) or the replica
    /// stops (releases the lease; returns false, or throws when cancelled).
    private func lead(epoch: Int64) async throws -> Bool {
        engine.fence(epoch: epoch)
        logger.info("leading", metadata: ["epoch": "\(epoch)", "replica": "\(replicaID)"])
        let lost: String?
        do {
            lost = try await withThrowingTaskGroup(of: String?.self) { group in
            // Renewing starts with the term, so a long state load keeps the lease.
            group.addTask { [lease, replicaID, timing, logger] in
                let clock = ContinuousClock()
                var renewed = clock.now
                let term = Duration.milliseconds(Int64(timing.lease * 1000))
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(Int64(timing.renew * 1000)))
                    // A renewal that does not answer (the database went dark) is not waited
                    // for past the lease: this leader must stop before a successor starts.
                    let renewal = Task { try await lease.renew(holder: replicaID, epoch: epoch, ttl: timing.lease) }
                    switch await Self.answer(of: renewal, within: max(.milliseconds(100), term - (clock.now - renewed))) {
                    case .success(true)?:
                        renewed = clock.now
                    case .success(false)?:
                        return "the lease was taken over"
                    case .failure(let error)?:
                        logger.warning("lease renewal failed", metadata: ["error": "\(error)"])
                    case nil:
                        logger.warning("lease renewal unanswered")
                    }
                    if clock.now - renewed >= term {
                        return "the lease could not be renewed for \(timing.lease) s"
                    }
                }
                return nil
            }
            group.addTask { [self] in
                let controlPlane = try await ControlPlane(
                    configuration: configuration,
                    database: database,
                    authority: authority,
                    serverIdentity: serverIdentity,
                    logger: logger,
                    group: self.group
                )
                setRole(.leading(epoch: epoch), controlPlane: controlPlane)
                try await controlPlane.run()
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
            }
        } catch is CancellationError {
            await handOver(epoch: epoch)
            throw CancellationError()
        } catch {
            logger.error("could not lead; giving the lease up", metadata: ["epoch": "\(epoch)", "error": "\(error)"])
            await handOver(epoch: epoch)
            try await Task.sleep(for: .milliseconds(Int64(timing.retry * 1000)))
            return true
        }
        if let lost {
            logger.error("stopped leading", metadata: ["epoch": "\(epoch)", "reason": "\(lost)"])
            setRole(.following(leader: ""), controlPlane: nil)
            return true
        }
        // The control plane stopped: a graceful shutdown.
        await handOver(epoch: epoch)
        return false
    }

    /// Ends this term at once, so that a follower takes over without waiting for the lease
    /// to lapse.
    private func handOver(epoch: Int64) async {
        do {
            try await lease.release(holder: replicaID, epoch: epoch)
            logger.info("released the lease", metadata: ["epoch": "\(epoch)"])
        } catch {
            logger.warning("could not release the lease; it lapses on its own", metadata: ["error": "\(error)"])
        }
        setRole(.following(leader: ""), controlPlane: nil)
    }

    /// The Prometheus text `--metrics-port` serves: the leader's series while leading, and
    /// the replica's own either way.
    public func scrapeMetrics() async -> [UInt8] {
        var body = await controlPlane?.scrapeMetrics() ?? []
        let epoch: Int64
        if case .leading(let value) = role { epoch = value } else { epoch = 0 }
        let text = """
            # HELP berth_replica_leading 1 while this replica leads, 0 while it follows.
            # TYPE berth_replica_leading gauge
            berth_replica_leading \(epoch > 0 ? 1 : 0)
            # HELP berth_replica_epoch The lease epoch of this replica's term; 0 while it follows.
            # TYPE berth_replica_epoch gauge
            berth_replica_epoch \(epoch)
            # HELP berth_replica_redirects_total Connections answered with the leader's address.
            # TYPE berth_replica_redirects_total counter
            berth_replica_redirects_total \(redirectsSent)

            """
        body.append(contentsOf: Array(text.utf8))
        return body
    }

    /// `task`'s result, or `nil` if it has none within `limit` (the task goes on).
    static func answer<T: Sendable>(of task: Task<T, any Error>, within limit: Duration) async -> Result<T, any Error>? {
        let once = Once()
        return await withCheckedContinuation { continuation in
            Task {
                let result = await task.result
                if once.first() { continuation.resume(returning: result) }
            }
            Task {
                try? await Task.sleep(for: limit)
                if once.first() { continuation.resume(returning: nil) }
            }
        }
    }

    private func setRole(_ role: Role, controlPlane: ControlPlane?) {
        let changed = state.withLock { state -> Bool in
            defer { state = (role, controlPlane) }
            return state.role != role
        }
        guard changed else { return }
        for watcher in watchers.withLock({ Array($0.values) }) { watcher.yield(role) }
    }
}

/// True for the first caller only.
private final class Once: Sendable {
    private let taken = Atomic<Bool>(false)
    func first() -> Bool { !taken.exchange(true, ordering: .acquiringAndReleasing) }
}
