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
    let channel: any Channel
    /// Last time a frame arrived, in `NIODeadline` uptime nanoseconds.
    private let lastSeenNanos: Atomic<UInt64>
    /// Latest heartbeat figures (nodes only); flushed to SQLite by the sweep.
    let heartbeat = Mutex<Heartbeat?>(nil)

    init(connectionID: UInt64, identity: PeerIdentity, channel: any Channel) {
        self.connectionID = connectionID
        self.identity = identity
        self.channel = channel
        self.lastSeenNanos = Atomic(NIODeadline.now().uptimeNanoseconds)
    }

    func touch() {
        lastSeenNanos.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
    }

    /// Seconds since the last frame.
    func idleSeconds(now: NIODeadline = .now()) -> Double {
        let last = lastSeenNanos.load(ordering: .relaxed)
        let current = now.uptimeNanoseconds
        return current > last ? Double(current - last) / 1e9 : 0
    }

    func send<M: WireMessage>(_ message: M, streamID: UInt32 = 0) {
        channel.writeAndFlush(message.frame(streamID: streamID, allocator: channel.allocator), promise: nil)
    }

    /// Sends an error frame, then closes the connection.
    func close(with error: WireError) {
        let channel = self.channel
        channel.writeAndFlush(ErrorFrame(error).frame(allocator: channel.allocator)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
