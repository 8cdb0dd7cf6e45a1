import NIOCore
import Synchronization
import TLSTransport
import WireProtocol

/// One authenticated connection (node or gateway) after its hello.
///
/// Thread-safe. Frames are written straight to the channel, which never blocks the
/// caller; a peer that stops reading is caught by the liveness sweep.
final class PeerSession: Sendable {
    let connectionID: UInt64
    let identity: PeerIdentity
    /// The client certificate's serial (lowercase hex), checked against revocations.
    let serial: String
    /// Serials issued to the peer over this connection (renewals), also checked: revoking
    /// the newest certificate ends the session that obtained it.
    private let renewedSerials = Mutex<Set<String>>([])
    let channel: any Channel
    /// When a frame last arrived, kept by the connection's `LivenessHandler` (which also
    /// pings the peer when it falls silent).
    let activity: PeerActivity
    /// Latest heartbeat figures (nodes only); flushed to SQLite by the sweep.
    let heartbeat = Mutex<Heartbeat?>(nil)
    /// Set when the peer said goodbye (an error frame `goingAway`) before closing.
    private let leftCleanly = Atomic(false)

    init(
        connectionID: UInt64,
        identity: PeerIdentity,
        serial: String = "",
        channel: any Channel,
        activity: PeerActivity = PeerActivity()
    ) {
        self.connectionID = connectionID
        self.identity = identity
        self.serial = serial
        self.channel = channel
        self.activity = activity
    }

    /// Records a certificate renewed over this connection.
    func renewed(serial: String) { _ = renewedSerials.withLock { $0.insert(serial) } }

    /// Whether any certificate of this session is in `revoked`. Checked before every gateway
    /// call: the serial it connected with needs no lock, and the renewed ones no copy.
    func isRevoked(by revoked: (String) -> Bool) -> Bool {
        revoked(serial) || renewedSerials.withLock { $0.contains(where: revoked) }
    }

    /// Seconds since the last frame.
    func idleSeconds(now: NIODeadline = .now()) -> Double {
        activity.silenceSeconds(now: now)
    }

    /// The peer announced that it is leaving (it is not lost).
    func markLeaving() { leftCleanly.store(true, ordering: .relaxed) }

    var hasLeftCleanly: Bool { leftCleanly.load(ordering: .relaxed) }

    func send<M: WireMessage>(_ message: M, streamID: UInt32 = 0) {
        channel.writeAndFlush(message.frame(streamID: streamID, allocator: channel.allocator), promise: nil)
    }

    /// Sends from the channel's event loop, after every write other threads queued before
    /// it: a direct write there would overtake them (a drain task's acknowledgement queued
    /// just before an inline one, say), and the peer would see its answers out of order.
    func sendInOrder<M: WireMessage>(_ message: M) {
        let channel = self.channel
        let frame = message.frame(allocator: channel.allocator)
        channel.eventLoop.execute { channel.writeAndFlush(frame, promise: nil) }
    }

    /// Starts the connection's pings; call after the welcome is written, so it goes first.
    func startPinging() {
        channel.triggerUserOutboundEvent(StartLivenessEvent(), promise: nil)
    }

    /// Sends an error frame, then closes the connection.
    func close(with error: WireError) {
        let channel = self.channel
        channel.triggerUserOutboundEvent(StopLivenessEvent(), promise: nil)
        channel.writeAndFlush(ErrorFrame(error).frame(allocator: channel.allocator)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
