import Logging
import Persistence
import Synchronization

/// The fleet's group commit: changes made in memory reach storage in the order they were
/// made, many to a transaction, and each caller learns when its own change is durable.
///
/// The fleet changes its in-memory state and calls ``append(_:)`` in one synchronous step,
/// so nothing can come between reading the state and writing it. ``durable(_:)`` then waits
/// for the batch that holds the change. One writer task commits whatever was appended since
/// its last commit as one transaction, so a burst of changes costs one commit.
///
/// A failed commit (a full disk, an I/O error) fails the callers waiting for that batch, and
/// the batch is tried again with backoff ahead of everything appended later. Memory stays
/// the authority and storage catches up once it can; a caller told of the failure may later
/// find its change in storage.
final class FleetJournal: Sendable {
    /// Names one appended change, for ``durable(_:)``.
    struct Ticket: Sendable {
        fileprivate let sequence: UInt64
    }

    private struct State {
        var pending: [StoredChange] = []
        /// The sequence number of the last change appended.
        var appended: UInt64 = 0
        /// Every change up to this one is durable.
        var committed: UInt64 = 0
        /// The last failed commit covered changes up to this one, with this error.
        var failed: (through: UInt64, error: any Error)?
        var waiters: [Waiter] = []
        var writing = false
        /// Callers of ``flush()``: resumed when nothing is pending.
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// A caller of ``durable(_:)`` (told of a failure) or ``committed(_:)`` (not told; waits on).
    private struct Waiter {
        let sequence: UInt64
        let toldOfFailure: Bool
        let continuation: CheckedContinuation<Void, any Error>
    }

    private let store: any FleetStore
    private let logger: Logger
    private let metrics: ControlPlaneMetrics?
    private let state = Mutex(State())

    init(store: any FleetStore, logger: Logger, metrics: ControlPlaneMetrics? = nil) {
        self.store = store
        self.logger = logger
        self.metrics = metrics
    }

    /// Queues `change` behind every change appended before it and returns at once.
    @discardableResult
    func append(_ change: StoredChange) -> Ticket {
        let (ticket, start) = state.withLock { state -> (Ticket, Bool) in
            state.pending.append(change)
            state.appended += 1
            let start = !state.writing
            state.writing = true
            return (Ticket(sequence: state.appended), start)
        }
        if start { Task { await self.write() } }
        return ticket
    }

    /// Returns once the change `ticket` names is durable; throws the storage error if the
    /// commit that held it failed.
    func durable(_ ticket: Ticket) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, any Error>? = state.withLock { state in
                if ticket.sequence <= state.committed { return .success(()) }
                if let failed = state.failed, ticket.sequence <= failed.through { return .failure(failed.error) }
                state.waiters.append(Waiter(sequence: ticket.sequence, toldOfFailure: true, continuation: continuation))
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    /// Returns once the change `ticket` names is durable, however many tries that takes
    /// (for work that must follow durability, such as sending a command, not answer a caller).
    func committed(_ ticket: Ticket) async {
        try? await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let done = state.withLock { state in
                if ticket.sequence <= state.committed { return true }
                state.waiters.append(Waiter(sequence: ticket.sequence, toldOfFailure: false, continuation: continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// The ticket of the last change appended: durable once everything so far is.
    var latest: Ticket {
        state.withLock { Ticket(sequence: $0.appended) }
    }

    /// Returns when everything appended so far is durable, or has failed once (at shutdown).
    func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state in
                if !state.writing { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// The writer: commits batches until nothing is pending.
    private func write() async {
        var backoff = Duration.milliseconds(100)
        while true {
            let batch = state.withLock { state -> (changes: [StoredChange], through: UInt64)? in
                guard !state.pending.isEmpty else {
                    state.writing = false
                    return nil
                }
                defer { state.pending.removeAll(keepingCapacity: true) }
                return (state.pending, state.appended)
            }
            guard let batch else { break }
            do {
                let clock = ContinuousClock()
                let began = clock.now
                try await store.commit(batch.changes)
                metrics?.recordCommit(.journal, changes: batch.changes.count, duration: clock.now - began)
                backoff = .milliseconds(100)
                let ready = state.withLock { state in
                    state.committed = batch.through
                    return take(&state.waiters, through: batch.through)
                }
                for waiter in ready { waiter.continuation.resume() }
            } catch {
                let failed = state.withLock { state in
                    state.failed = (batch.through, error)
                    // Tried again first, so storage still sees the changes in order.
                    state.pending.insert(contentsOf: batch.changes, at: 0)
                    return take(&state.waiters, through: batch.through, toldOfFailureOnly: true)
                }
                for waiter in failed { waiter.continuation.resume(throwing: error) }
                logger.error(
                    "could not write the fleet's changes; retrying",
                    metadata: ["changes": "\(batch.changes.count)", "error": "\(error)", "retryIn": "\(backoff)"]
                )
                resumeIdleWaiters()
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        resumeIdleWaiters()
    }

    /// Resumes the callers of ``flush()``.
    private func resumeIdleWaiters() {
        let idle = state.withLock { state in
            defer { state.idleWaiters.removeAll() }
            return state.idleWaiters
        }
        for waiter in idle { waiter.resume() }
    }

    private func take(_ waiters: inout [Waiter], through sequence: UInt64, toldOfFailureOnly: Bool = false) -> [Waiter] {
        let ready = waiters.filter { $0.sequence <= sequence && ($0.toldOfFailure || !toldOfFailureOnly) }
        waiters.removeAll { $0.sequence <= sequence && ($0.toldOfFailure || !toldOfFailureOnly) }
        return ready
    }
}
