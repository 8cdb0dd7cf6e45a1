import Logging
import NIOCore
import NIOTLS
import Synchronization
import WireProtocol

/// Caps and deadlines for connections that have not yet authenticated.
///
/// A listener admits each accepted connection here before anything else happens on it. A
/// connection holds an *unauthenticated slot* from accept until its peer has proven who it
/// is (``PeerAuthenticatedEvent``) or it closes. Slots are capped per source address and in
/// total:
/// - a source at its cap has its new connection closed at once;
/// - at the total cap, the oldest unauthenticated connection is closed to make room, so a
///   flood of idle connections cannot shut out a real peer, which completes its handshake
///   in milliseconds (the same idea as sshd's `MaxStartups`).
///
/// Connections that do authenticate are not counted here; the descriptors a flood can hold
/// are bounded by ``Limits/total``, which leaves the rest of the process's descriptors to
/// enrolled nodes, gateways and storage.
///
/// Connections on their way in are gated as well (``Limits/handshakes``): from accept until
/// the peer has authenticated (its TLS handshake, then its hello) or the connection closes.
/// At the gate the listener stops accepting, so further connections wait in the kernel's
/// accept queue, in order, instead of all handshaking at once and all missing their
/// deadlines (a whole fleet reconnecting to a restarted control plane). The hello is inside
/// the gate because a connection past its TLS handshake is nearly done: were it outside,
/// a storm's finished handshakes whose hellos wait for a busy machine would fill the
/// unauthenticated cap, and the oldest of them, the nearest to done, would be evicted
/// (10,000 nodes failing over evicted 1,646 that way, 14 % of the handshakes, each node
/// then backing off: performance.md). A handshake that has stalled for
/// ``Limits/stallAge`` while the gate is shut is closed to let the queue move, so idle
/// connections cannot hold the gate shut. While other handshakes keep finishing the gate
/// moves by itself, and a handshake is closed only at four times that age: on a busy
/// machine a slow handshake is progress, and closing it wastes the work both ends did.
///
/// Thread-safe.
public final class ConnectionAdmission: Sendable {
    /// The caps and deadlines.
    public struct Limits: Sendable {
        /// Unauthenticated connections held at once, from all sources.
        public var total: Int
        /// Unauthenticated connections held at once from one source address.
        public var perSource: Int
        /// From accept to a finished TLS handshake.
        public var handshakeTimeout: TimeAmount
        /// From the finished handshake to the first complete frame.
        public var firstFrameTimeout: TimeAmount
        /// Connections in the gate at once (TLS handshake, then hello); at this many the
        /// listener stops accepting.
        public var handshakes: Int
        /// While accepting is stopped, a handshake older than this is closed to make room.
        public var stallAge: TimeAmount

        public init(
            total: Int = 1024,
            perSource: Int = 64,
            handshakeTimeout: TimeAmount = .seconds(10),
            firstFrameTimeout: TimeAmount = .seconds(10),
            handshakes: Int = 512,
            stallAge: TimeAmount = .seconds(2)
        ) {
            self.total = max(1, total)
            self.perSource = max(1, perSource)
            self.handshakeTimeout = handshakeTimeout
            self.firstFrameTimeout = firstFrameTimeout
            self.handshakes = max(1, handshakes)
            self.stallAge = stallAge
        }
    }

    /// Counters since start, for logs, metrics and tests.
    public struct Statistics: Sendable, Equatable {
        /// Unauthenticated connections held now (filled in when read).
        public var unauthenticated = 0
        /// Connections closed at accept because their source was at its cap.
        public var refused = 0
        /// Unauthenticated connections closed to make room under the total cap.
        public var evicted = 0
        /// Connections closed because a handshake or first frame did not come in time.
        public var timedOut = 0
        /// Connections that authenticated.
        public var authenticated = 0
        /// Connections in the gate now: TLS handshake or hello in progress (filled in when read).
        public var handshaking = 0
        /// Times the listener stopped accepting because the handshake gate was full.
        public var acceptPauses = 0
        /// Handshakes closed because they stalled while the gate was full.
        public var stalled = 0
        /// Connections that closed (or were closed) before their TLS handshake finished.
        public var handshakeFailures = 0

        /// The counters that only grow, to tell whether anything happened since a reading.
        public var admissionCounters: [Int] {
            [refused, evicted, timedOut, authenticated, acceptPauses, stalled]
        }

        /// Every figure, for a log line.
        public var logMetadata: Logger.Metadata {
            [
                "unauthenticated": "\(unauthenticated)", "handshaking": "\(handshaking)",
                "authenticated": "\(authenticated)", "refused": "\(refused)", "evicted": "\(evicted)",
                "timedOut": "\(timedOut)", "acceptPauses": "\(acceptPauses)", "stalled": "\(stalled)",
            ]
        }
    }

    struct Entry {
        var source: String
        var channel: any Channel
    }

    struct State {
        var nextID: UInt64 = 1
        var entries = ArrivalOrder<UInt64, Entry>()
        var perSource: [String: Int] = [:]
        var statistics = Statistics()
    }

    struct Handshake {
        var channel: any Channel
        var began: NIODeadline
    }

    /// The handshake gate: connections accepted whose TLS handshake has not finished.
    struct Gate {
        var inFlight = ArrivalOrder<ObjectIdentifier, Handshake>()
        /// When a handshake last finished: the gate is moving while this is recent.
        var lastFinished: NIODeadline?
        /// Set when the listener was told to wait; whoever opens the gate resumes it.
        var paused = false
        var resume: (@Sendable () -> Void)?
    }

    public let limits: Limits
    private let state = Mutex(State())
    private let gate = Mutex(Gate())

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The counters now.
    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.unauthenticated = state.entries.count
            statistics.handshaking = gate.withLock { $0.inFlight.count }
            return statistics
        }
    }

    /// Counts `channel`, just accepted, as in the gate until ``handshakeEnded(_:)`` (its peer
    /// authenticated) or its close.
    func handshakeBegan(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        gate.withLock { $0.inFlight.append(id, Handshake(channel: channel, began: .now())) }
        channel.closeFuture.whenComplete { [self] _ in handshakeEnded(id) }
    }

    /// The peer on `channel` authenticated: it leaves the gate.
    func handshakeEnded(_ channel: any Channel) {
        handshakeEnded(ObjectIdentifier(channel), finished: true)
    }

    private func handshakeEnded(_ id: ObjectIdentifier, finished: Bool = false) {
        let resume = gate.withLock { gate -> (@Sendable () -> Void)? in
            if finished { gate.lastFinished = .now() }
            guard gate.inFlight.remove(id) != nil else { return nil }
            guard gate.paused, gate.inFlight.count < limits.handshakes else { return nil }
            gate.paused = false
            return gate.resume
        }
        resume?()
    }

    /// Whether the listener may accept more now. When not, the gate remembers to call
    /// `resume` once a handshake ends, and answers how long until the oldest one stalls.
    func mayAccept(resume: @escaping @Sendable () -> Void) -> (open: Bool, oldestStallsIn: TimeAmount?) {
        let (open, newlyPaused, oldest) = gate.withLock { gate -> (Bool, Bool, NIODeadline?) in
            guard gate.inFlight.count >= limits.handshakes else {
                gate.paused = false
                return (true, false, nil)
            }
            let newlyPaused = !gate.paused
            gate.paused = true
            gate.resume = resume
            return (false, newlyPaused, gate.inFlight.oldest().map { stallDeadline($0.value.began, gate.lastFinished) })
        }
        if newlyPaused { state.withLock { $0.statistics.acceptPauses += 1 } }
        guard !open else { return (true, nil) }
        return (false, oldest.map { $0 - .now() })
    }

    /// When a handshake that began at `began` counts as stalled: ``Limits/stallAge`` after
    /// it began once no handshake has finished for that long (the gate is stuck), and not
    /// before four times that age while others finish.
    func stallDeadline(_ began: NIODeadline, _ lastFinished: NIODeadline?) -> NIODeadline {
        let stuck = began + limits.stallAge
        guard let lastFinished else { return stuck }
        let patient = began + .nanoseconds(limits.stallAge.nanoseconds * 4)
        return min(patient, max(stuck, lastFinished + limits.stallAge))
    }

    /// Closes the handshakes that stalled (see `stallDeadline`) while the gate is shut.
    func closeStalledHandshakes() {
        let stalled = gate.withLock { gate -> [any Channel] in
            guard gate.paused else { return [] }
            let now = NIODeadline.now()
            var stalled: [any Channel] = []
            while let (id, handshake) = gate.inFlight.oldest(), stallDeadline(handshake.began, gate.lastFinished) <= now {
                gate.inFlight.remove(id)
                stalled.append(handshake.channel)
            }
            return stalled
        }
        guard !stalled.isEmpty else { return }
        state.withLock { $0.statistics.stalled += stalled.count }
        // Their slots are free already; the caller reads the accept socket again.
        for channel in stalled { channel.close(promise: nil) }
    }

    /// Admits `channel` from `source`; `nil` when the source is at its cap (close it).
    func admit(source: String, channel: any Channel) -> UInt64? {
        let (id, evicted) = state.withLock { state -> (UInt64?, (any Channel)?) in
            if state.perSource[source, default: 0] >= limits.perSource {
                state.statistics.refused += 1
                return (nil, nil)
            }
            var evicted: (any Channel)?
            if state.entries.count >= limits.total {
                if let oldest = state.entries.oldest(), let entry = Self.remove(oldest.key, from: &state) {
                    state.statistics.evicted += 1
                    evicted = entry.channel
                }
            }
            let id = state.nextID
            state.nextID += 1
            state.entries.append(id, Entry(source: source, channel: channel))
            state.perSource[source, default: 0] += 1
            return (id, evicted)
        }
        evicted?.close(promise: nil)
        return id
    }

    /// Gives the slot back: the peer authenticated, or the connection closed.
    func release(_ id: UInt64, authenticated: Bool) {
        state.withLock { state in
            guard Self.remove(id, from: &state) != nil else { return }
            if authenticated { state.statistics.authenticated += 1 }
        }
    }

    func recordHandshakeFailure() {
        state.withLock { $0.statistics.handshakeFailures += 1 }
    }

    func recordTimeout() {
        state.withLock { $0.statistics.timedOut += 1 }
    }

    private static func remove(_ id: UInt64, from state: inout State) -> Entry? {
        guard let entry = state.entries.remove(id) else { return nil }
        let left = state.perSource[entry.source, default: 1] - 1
        state.perSource[entry.source] = left > 0 ? left : nil
        return entry
    }

    /// The source of a connection: its IP address without the port.
    package static func source(of channel: any Channel) -> String {
        channel.remoteAddress?.ipAddress ?? "unknown"
    }
}

/// Sent down a connection's pipeline (`channel.triggerUserOutboundEvent`) once its peer has
/// authenticated: the connection then leaves the unauthenticated caps and deadlines.
public struct PeerAuthenticatedEvent: Sendable {
    public init() {}
}

/// Enforces ``ConnectionAdmission`` on one connection: admission at accept, the handshake
/// deadline, the first-frame deadline, and the release of its slot.
///
/// Sits behind the TLS handler and the frame decoder, so it sees TLS events and whole frames.
final class AdmissionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = Frame
    typealias InboundOut = Frame
    typealias OutboundIn = Frame
    typealias OutboundOut = Frame

    private enum Phase {
        case notAdmitted, handshaking, awaitingFirstFrame, awaitingAuthentication, done
    }

    private let admission: ConnectionAdmission
    private var phase = Phase.notAdmitted
    private var slot: UInt64?
    private var deadline: Scheduled<Void>?

    init(admission: ConnectionAdmission) {
        self.admission = admission
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context: context)
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            // Still in the gate until the hello authenticates it (see ConnectionAdmission).
            if phase == .handshaking {
                phase = .awaitingFirstFrame
                arm(context: context, after: admission.limits.firstFrameTimeout)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .awaitingFirstFrame {
            phase = .awaitingAuthentication
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is PeerAuthenticatedEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        admission.handshakeEnded(context.channel)
        finish(authenticated: true)
        // Passed on: the liveness handler (first in the pipeline) starts pinging on it.
        context.triggerUserOutboundEvent(event, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(authenticated: false)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(authenticated: false)
    }

    private func admit(context: ChannelHandlerContext) {
        guard phase == .notAdmitted else { return }
        let source = ConnectionAdmission.source(of: context.channel)
        guard let slot = admission.admit(source: source, channel: context.channel) else {
            phase = .done
            context.close(promise: nil)
            return
        }
        self.slot = slot
        phase = .handshaking
        arm(context: context, after: admission.limits.handshakeTimeout)
    }

    private func arm(context: ChannelHandlerContext, after timeout: TimeAmount) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self, self.phase == .handshaking || self.phase == .awaitingFirstFrame else { return }
            self.admission.recordTimeout()
            self.finish(authenticated: false)
            channel.close(promise: nil)
        }
    }

    private func finish(authenticated: Bool) {
        if phase == .handshaking, !authenticated { admission.recordHandshakeFailure() }
        deadline?.cancel()
        deadline = nil
        phase = .done
        if let slot {
            admission.release(slot, authenticated: authenticated)
            self.slot = nil
        }
    }
}

@available(*, unavailable)
extension AdmissionHandler: Sendable {}
