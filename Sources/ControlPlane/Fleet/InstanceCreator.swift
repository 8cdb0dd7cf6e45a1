import Persistence
import Synchronization

/// Creates instances with group commit: requests that arrive while a creation transaction
/// is being written wait, and then share the next transaction, one savepoint each.
///
/// So 100 concurrent `POST /api/v1/vm` cost a few transactions (a few fsyncs), not 100,
/// and a request that fails on its merits (the MAC pool cannot serve it) fails alone.
/// Each caller returns once its own rows are durable.
final class InstanceCreator: Sendable {
    private struct Request {
        let rows: [InstanceRow]
        let continuation: CheckedContinuation<[InstanceRow], any Error>
    }

    private struct State {
        var pending: [Request] = []
        var writing = false
        /// Transactions written so far (for tests and the log).
        var transactions = 0
    }

    private let store: any FleetStore
    private let drawMACs: Bool
    private let metrics: ControlPlaneMetrics?
    private let state = Mutex(State())

    init(store: any FleetStore, drawMACs: Bool, metrics: ControlPlaneMetrics? = nil) {
        self.store = store
        self.drawMACs = drawMACs
        self.metrics = metrics
    }

    /// Stores `rows` as new instances, in the next creation transaction; returns them as
    /// stored (with their managed MAC addresses drawn).
    func create(_ rows: [InstanceRow]) async throws -> [InstanceRow] {
        try await withCheckedThrowingContinuation { continuation in
            let startWriter = state.withLock { state in
                state.pending.append(Request(rows: rows, continuation: continuation))
                guard !state.writing else { return false }
                state.writing = true
                return true
            }
            if startWriter { Task { await self.writeAll() } }
        }
    }

    /// How many creation transactions have been written.
    var transactions: Int { state.withLock { $0.transactions } }

    /// Requests waiting for the next transaction.
    var waiting: Int { state.withLock { $0.pending.count } }

    /// Writes batches until no request waits.
    private func writeAll() async {
        while true {
            let batch = state.withLock { state -> [Request] in
                let batch = state.pending
                state.pending = []
                if batch.isEmpty { state.writing = false } else { state.transactions += 1 }
                return batch
            }
            if batch.isEmpty { return }
            do {
                let clock = ContinuousClock()
                let began = clock.now
                let results = try await store.insertInstanceGroups(batch.map(\.rows), drawMACs: drawMACs)
                metrics?.recordCommit(.instances, changes: batch.count, duration: clock.now - began)
                for (index, request) in batch.enumerated() {
                    guard index < results.count else {
                        request.continuation.resume(throwing: PersistenceError(.conflict, "the store gave no result"))
                        continue
                    }
                    request.continuation.resume(with: results[index].mapError { $0 as any Error })
                }
            } catch {
                for request in batch { request.continuation.resume(throwing: error) }
            }
        }
    }
}
