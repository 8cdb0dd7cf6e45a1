import Foundation
import Logging
import Persistence
import WireProtocol

/// The controller's event log: API actions, instance and node state changes.
///
/// Recording never waits for the disk: events are buffered and written in one
/// transaction per batch (within ~20 ms), after which waiting deliverers are woken.
/// Instance transitions themselves are durable in their own table before they are
/// acknowledged; this log is the readable, queryable, pushable account of them.
actor EventLog {
    let database: BerthDatabase
    let logger: Logger
    private var buffer: [EventLogRow] = []
    private var flushScheduled = false
    /// Per instance: the last state recorded and the row time it came with.
    private var lastState: [String: (state: InstanceState, ts: Int)] = [:]
    /// Counts written batches; deliverers wait for it to move past what they have seen.
    private(set) var generation: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiterID: UInt64 = 0

    static let flushDelay: Duration = .milliseconds(20)

    /// The batch being written, if any; the next write waits for it (``flush()``).
    private var lastWrite: Task<Void, Never>?

    init(database: BerthDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    func record(kind: String, subject: String = "", message: String = "", actor: String = "") {
        buffer.append(
            EventLogRow(ts: BerthDatabase.nowMicros(), kind: kind, subject: subject, message: message, actor: actor)
        )
        guard !flushScheduled else { return }
        flushScheduled = true
        Task {
            try? await Task.sleep(for: Self.flushDelay)
            await self.flush()
        }
    }

    /// Writes what is buffered now, and returns once it and every earlier batch are written.
    ///
    /// Writes are chained: a flush that finds the buffer empty while an earlier batch is
    /// still being written waits for that write, so a query that flushes first always sees
    /// every event recorded before it (across the write's `await`, another flush could
    /// otherwise take an empty buffer and return early).
    func flush() async {
        flushScheduled = false
        let batch = buffer
        buffer = []
        let previous = lastWrite
        guard !batch.isEmpty else {
            await previous?.value
            return
        }
        let write = Task {
            await previous?.value
            await self.write(batch)
        }
        lastWrite = write
        await write.value
    }

    private func write(_ batch: [EventLogRow]) async {
        do {
            try await database.appendEvents(batch)
            generation &+= 1
            let woken = waiters
            waiters = [:]
            for waiter in woken.values { waiter.resume() }
        } catch {
            logger.error("could not write events", metadata: ["count": "\(batch.count)", "error": "\(error)"])
        }
    }

    /// Returns once a batch newer than `seen` is written (at once if one already is), or
    /// when the waiting task is cancelled. Returns the generation now.
    func waitForWrite(after seen: UInt64) async -> UInt64 {
        if generation != seen || Task.isCancelled { return generation }
        nextWaiterID += 1
        let id = nextWaiterID
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                } else {
                    waiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
        return generation
    }

    private func cancelWaiter(_ id: UInt64) { waiters.removeValue(forKey: id)?.resume() }

    /// Records instance and node state changes from the fleet until cancelled.
    func follow(_ events: AsyncStream<FleetEvent>) async {
        for await event in events {
            switch event {
            case .instance(let instance):
                // Publishers race (a placement re-read vs. the node's next report), so a
                // record older than the last one seen is stale, not a change.
                if let last = lastState[instance.instanceID],
                    last.state == instance.state || instance.tsMicros < last.ts
                {
                    continue
                }
                lastState[instance.instanceID] = (instance.state, instance.tsMicros)
                if instance.state == .terminated { lastState.removeValue(forKey: instance.instanceID) }
                var message = instance.nodeID.isEmpty ? "" : "on node \(instance.nodeID)"
                if !instance.message.isEmpty {
                    message += message.isEmpty ? instance.message : ": \(instance.message)"
                }
                record(
                    kind: "instance.\(instance.state.description.lowercased())",
                    subject: instance.instanceID,
                    message: message
                )
            case .node(let id, let state):
                record(kind: "node.\(state.lowercased())", subject: id)
            case .distribution(let id, let nodeID, let done, let error):
                if done {
                    record(
                        kind: error.isEmpty ? "distribution.done" : "distribution.failed",
                        subject: id,
                        message: error.isEmpty ? "on node \(nodeID)" : "on node \(nodeID): \(error)"
                    )
                }
            case .nodeCache, .tunnelClosed:
                break
            }
        }
    }

    func query(_ query: EventQuery) async throws -> [EventRecord] {
        await flush()
        let limit = query.limit <= 0 ? 100 : min(query.limit, 1000)
        return try await database.events(
            afterID: query.afterID.map(Int64.init),
            beforeID: query.beforeID > 0 ? Int64(query.beforeID) : nil,
            kindPrefix: query.kindPrefix,
            subject: query.subject,
            limit: limit
        ).map(Self.record(from:))
    }

    static func record(from row: EventLogRow) -> EventRecord {
        EventRecord(
            id: Int(row.id ?? 0),
            tsMicros: Int(row.ts),
            kind: row.kind,
            subject: row.subject,
            message: row.message,
            actor: row.actor
        )
    }
}
