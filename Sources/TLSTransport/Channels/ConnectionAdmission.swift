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

        public init(
            total: Int = 1024,
            perSource: Int = 64,
            handshakeTimeout: TimeAmount = .seconds(10),
            firstFrameTimeout: TimeAmount = .seconds(10)
        ) {
            self.total = max(1, total)
            self.perSource = max(1, perSource)
            self.handshakeTimeout = handshakeTimeout
            self.firstFrameTimeout = firstFrameTimeout
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
    }

    struct Entry {
        var source: String
        var channel: any Channel
    }

    struct State {
        var nextID: UInt64 = 1
        var entries: [UInt64: Entry] = [:]
        /// Admission order, oldest first; ids already released are skipped lazily.
        var order = CircularBuffer<UInt64>()
        var perSource: [String: Int] = [:]
        var statistics = Statistics()
    }

    public let limits: Limits
    private let state = Mutex(State())

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The counters now.
    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.unauthenticated = state.entries.count
            return statistics
        }
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
                while let oldest = state.order.popFirst() {
                    if let entry = Self.remove(oldest, from: &state) {
                        state.statistics.evicted += 1
                        evicted = entry.channel
                        break
                    }
                }
            }
            let id = state.nextID
            state.nextID += 1
            state.entries[id] = Entry(source: source, channel: channel)
            state.order.append(id)
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

    func recordTimeout() {
        state.withLock { $0.statistics.timedOut += 1 }
    }

    private static func remove(_ id: UInt64, from state: inout State) -> Entry? {
        guard let entry = state.entries.removeValue(forKey: id) else { return nil }
        let left = state.perSource[entry.source, default: 1] - 1
        state.perSource[entry.source] = left > 0 ? left : nil
        // Keep the order buffer from growing without bound when most slots end by release.
        if state.order.count > 4 * max(16, state.entries.count) {
            state.order = CircularBuffer(state.order.filter { state.entries[$0] != nil })
        }
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
        if case TLSUserEvent.handshakeCompleted = event, phase == .handshaking {
            phase = .awaitingFirstFrame
            arm(context: context, after: admission.limits.firstFrameTimeout)
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
