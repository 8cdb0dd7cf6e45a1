import NIOCore
import Synchronization

/// Every accepted connection still open, so that stopping the control plane can close
/// them: served by channel handlers, they have no task for a cancellation to end.
final class OpenConnections: Sendable {
    private let channels = Mutex<[UInt64: any Channel]>([:])

    func opened(_ channel: any Channel, id: UInt64) {
        channels.withLock { $0[id] = channel }
    }

    func closed(id: UInt64) {
        _ = channels.withLock { $0.removeValue(forKey: id) }
    }

    /// Closes every open connection and waits until each has closed.
    func closeAll() async {
        let open = channels.withLock { Array($0.values) }
        for channel in open { channel.close(promise: nil) }
        for channel in open { try? await channel.closeFuture.get() }
    }
}
