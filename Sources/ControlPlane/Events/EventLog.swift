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
    private var lastState: [String: InstanceState] = [:]
    private var listeners: [UUID: AsyncStream<Void>.Continuation] = [:]

    static let flushDelay: Duration = .milliseconds(20)

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

    /// Writes what is buffered now.
    func flush() async {
        flushScheduled = false
        let batch = buffer
        buffer = []
        guard !batch.isEmpty else { return }
        do {
            try await database.appendEvents(batch)
            for listener in listeners.values { listener.yield() }
        } catch {
            logger.error("could not write events", metadata: ["count": "\(batch.count)", "error": "\(error)"])
        }
    }

    /// Yields after each batch is written (for the webhook pusher).
    func written() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        listeners[id] = continuation
        continuation.onTermination = { _ in Task { await self.removeListener(id) } }
        return stream
    }

    private func removeListener(_ id: UUID) { listeners.removeValue(forKey: id) }

    /// Records instance and node state changes from the fleet until cancelled.
    func follow(_ events: AsyncStream<FleetEvent>) async {
        for await event in events {
            switch event {
            case .instance(let instance):
                guard lastState[instance.instanceID] != instance.state else { continue }
                lastState[instance.instanceID] = instance.state
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
            }
        }
    }

    func query(_ query: EventQuery) async throws -> [EventRecord] {
        await flush()
        let limit = query.limit <= 0 ? 100 : min(query.limit, 1000)
        return try await database.events(
            afterID: query.afterID > 0 ? Int64(query.afterID) : nil,
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
