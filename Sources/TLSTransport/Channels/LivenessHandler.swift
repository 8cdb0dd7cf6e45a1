import NIOCore
import Synchronization
import WireProtocol

/// When a connection last heard from its peer. Read from any thread; written by the
/// connection's ``LivenessHandler`` as frames arrive (not when they are processed, so a
/// busy reader never makes a live peer look silent).
public final class PeerActivity: Sendable {
    private let lastInboundNanos: Atomic<UInt64>

    public init(now: NIODeadline = .now()) {
        lastInboundNanos = Atomic(now.uptimeNanoseconds)
    }

    public func touch(now: NIODeadline = .now()) {
        lastInboundNanos.store(now.uptimeNanoseconds, ordering: .relaxed)
    }

    /// When the last frame arrived.
    public var lastInbound: NIODeadline {
        .uptimeNanoseconds(lastInboundNanos.load(ordering: .relaxed))
    }

    /// Seconds since the last frame.
    public func silenceSeconds(now: NIODeadline = .now()) -> Double {
        let last = lastInboundNanos.load(ordering: .relaxed)
        let current = now.uptimeNanoseconds
        return current > last ? Double(current - last) / 1e9 : 0
    }
}

/// A ping interval that many connections share and that may change while they run: the
/// control plane stretches it as its fleet grows (see `PingSchedule`).
public final class PingPace: Sendable {
    private let nanos: Atomic<Int64>

    public init(_ interval: TimeAmount) {
        nanos = Atomic(interval.nanoseconds)
    }

    public var interval: TimeAmount { .nanoseconds(nanos.load(ordering: .relaxed)) }

    public func set(_ interval: TimeAmount) {
        nanos.store(interval.nanoseconds, ordering: .relaxed)
    }
}

/// How a connection keeps its liveness (see ``LivenessHandler``).
public struct LivenessOptions: Sendable {
    /// A ping goes out after this much inbound silence, so silence is known to this resolution.
    public var pingInterval: TimeAmount
    /// When set, its interval is used instead of ``pingInterval``, read again at each tick.
    public var pace: PingPace?
    /// Inbound silence after which the connection is closed as dead; `nil` leaves that to
    /// the owner (the control plane's sweep decides for its peers).
    public var deadAfter: TimeAmount?
    public init(pingInterval: TimeAmount, deadAfter: TimeAmount? = nil) {
        self.pingInterval = pingInterval
        self.deadAfter = deadAfter
    }

    public init(pace: PingPace, deadAfter: TimeAmount? = nil) {
        self.pingInterval = pace.interval
        self.pace = pace
        self.deadAfter = deadAfter
    }

    /// The interval in force now.
    var currentInterval: TimeAmount { pace?.interval ?? pingInterval }
}

/// Sent down a connection's pipeline to start its ``LivenessHandler``: by the server once
/// its welcome is written (the welcome is always the first frame a peer reads, and an
/// unauthenticated peer is never pinged), by a client with the options the welcome names.
public struct StartLivenessEvent: Sendable {
    /// Replaces the handler's options; `nil` keeps those it was made with.
    public var options: LivenessOptions?
    public init(_ options: LivenessOptions? = nil) { self.options = options }
}

/// Sent down a connection's pipeline to stop its pings: before a last error frame, so that
/// nothing follows it.
public struct StopLivenessEvent: Sendable {
    public init() {}
}

/// Sent down a connection's pipeline to close its socket now, without waiting for the TLS
/// close_notify exchange (which a peer across a dead path never answers).
public struct AbortConnectionEvent: Sendable {
    public init() {}
}

/// Records inbound activity on a framed connection and, once started
/// (``StartLivenessEvent``), pings the peer after
/// ``LivenessOptions/pingInterval`` of silence and closes the connection after
/// ``LivenessOptions/deadAfter``.
///
/// Sits first in the pipeline, in front of TLS: any bytes from the peer count as life, its
/// pings enter at the pipeline's tail like any other frame, and a dead connection is closed
/// at the socket at once (through TLS, a close would wait for the silent peer's
/// close_notify; ``AbortConnectionEvent`` does the same for deadlines). Runs on the
/// connection's event loop: idle connections cost timers, not tasks.
public final class LivenessHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    public let activity: PeerActivity
    /// `nil` until a ``StartLivenessEvent`` says how (a dormant handler only records activity).
    private var options: LivenessOptions?
    private var timer: Scheduled<Void>?
    private var running = false
    private var nonce: UInt64 = 0

    public init(options: LivenessOptions?, activity: PeerActivity = PeerActivity()) {
        self.options = options
        self.activity = activity
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        activity.touch()
        context.fireChannelRead(data)
    }

    public func triggerUserOutboundEvent(
        context: ChannelHandlerContext,
        event: Any,
        promise: EventLoopPromise<Void>?
    ) {
        // The last handler that cares about these (the channel's head would refuse them).
        switch event {
        case is PeerAuthenticatedEvent:
            activity.touch()
            promise?.succeed()
        case let event as StartLivenessEvent:
            if let options = event.options { self.options = options }
            activity.touch()
            start(context: context)
            promise?.succeed()
        case is StopLivenessEvent:
            stop()
            promise?.succeed()
        case is AbortConnectionEvent:
            stop()
            context.close(promise: promise)
        default:
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    private func start(context: ChannelHandlerContext) {
        guard !running, options != nil else { return }
        running = true
        schedule(context: context)
    }

    private func schedule(context: ChannelHandlerContext) {
        guard running, let interval = options?.currentInterval else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: interval) { [weak self] in
            guard let self, self.running else { return }
            self.tick(context: context)
            self.schedule(context: context)
        }
    }

    private func stop() {
        running = false
        timer?.cancel()
        timer = nil
    }

    private func tick(context: ChannelHandlerContext) {
        guard let options else { return }
        let silence = TimeAmount.nanoseconds(Int64(activity.silenceSeconds() * 1e9))
        if let deadAfter = options.deadAfter, silence > deadAfter {
            stop()
            context.fireErrorCaught(
                TLSTransportError(.peerSilent, "nothing heard for \(silence.nanoseconds / 1_000_000) ms")
            )
            context.close(promise: nil)
            return
        }
        guard silence >= options.currentInterval else { return }
        nonce &+= 1
        let channel = context.channel
        channel.writeAndFlush(Ping(nonce: nonce).frame(allocator: channel.allocator), promise: nil)
    }
}

@available(*, unavailable)
extension LivenessHandler: Sendable {}
