import Foundation
import Synchronization
import WireProtocol

/// Something that changed in the fleet, published once the change is in force (for a node,
/// in memory and journaled; see `FleetJournal`).
public enum FleetEvent: Sendable, Equatable {
    /// An instance's row changed (created, placed, new state, terminated).
    case instance(InstanceRecord)
    /// A node connected (`Active`), disconnected (`Offline`) or was deleted (`Deleted`).
    case node(id: String, state: String)
    /// A node's part of a distribution progressed, finished (`done`) or failed (`error`).
    case distribution(id: String, nodeID: String, done: Bool, error: String)
    /// A node reported what its template cache holds.
    case nodeCache(id: String)
    /// A VM access tunnel to the instance ended (and is in the event log).
    case tunnelClosed(instanceID: String)
}

/// Fans fleet events out to any number of subscribers.
///
/// Publishing never blocks: each subscriber has its own buffer, and a subscriber that
/// falls more than `bufferSize` events behind loses the oldest ones.
public final class FleetEventHub: Sendable {
    private let subscribers = Mutex<[UInt64: AsyncStream<FleetEvent>.Continuation]>([:])
    private let nextSubscriberID = Atomic<UInt64>(0)
    private let counter = Atomic<Int>(0)
    private let bufferSize: Int

    public init(bufferSize: Int = 4096) {
        self.bufferSize = bufferSize
    }

    /// A stream of every event published from now on.
    public func subscribe() -> AsyncStream<FleetEvent> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: FleetEvent.self,
            bufferingPolicy: .bufferingNewest(bufferSize)
        )
        let id = nextSubscriberID.add(1, ordering: .relaxed).newValue
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    /// How many events have been published; it only grows.
    public var sequence: Int { counter.load(ordering: .acquiring) }

    /// Returns the ``sequence`` once it passes `after` (at once if it already has), or when
    /// `timeout` runs out. A caller that passes the value it got last misses nothing.
    public func waitForChange(after: Int, timeout: Duration) async -> Int {
        let stream = subscribe()
        if sequence > after { return sequence }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in stream { return }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return sequence
    }

    func publish(_ event: FleetEvent) {
        counter.add(1, ordering: .releasing)
        let current = subscribers.withLock { Array($0.values) }
        for continuation in current { continuation.yield(event) }
    }
}
