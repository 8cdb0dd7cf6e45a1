/// A state change reported for an instance, with its idempotency key.
public struct TransitionReport: Sendable {
    public var instanceID: String
    public var state: String
    public var message: String
    public var progress: Double
    /// Wire-encoded `vminfo`; `nil` keeps the stored one.
    public var vminfo: [UInt8]?
    /// Wire-encoded startup script result; `nil` keeps the stored one.
    public var scriptResult: [UInt8]? = nil
    /// The VM ended on its own (``InstanceStatus/exited``): its restart policy decides.
    public var exited = false
    public var ts: Int64
    /// The reporting node; the instance must be placed on it.
    public var nodeID: String
    /// The event's idempotency key. A negative epoch marks a report that is not an event
    /// (a hello's inventory): it is applied without touching the node's last event key.
    public var eventEpoch: Int64
    public var eventSeq: Int64

    public var isEvent: Bool { eventEpoch >= 0 }

    public init(
        instanceID: String,
        state: String,
        message: String,
        progress: Double,
        vminfo: [UInt8]?,
        ts: Int64,
        nodeID: String,
        eventEpoch: Int64,
        eventSeq: Int64
    ) {
        self.instanceID = instanceID
        self.state = state
        self.message = message
        self.progress = progress
        self.vminfo = vminfo
        self.ts = ts
        self.nodeID = nodeID
        self.eventEpoch = eventEpoch
        self.eventSeq = eventSeq
    }
}

/// What happened to a ``TransitionReport``.
public enum TransitionOutcome: Sendable, Equatable {
    /// Applied; the instance as it is now.
    case applied(InstanceRow)
    /// Its idempotency key was applied before; nothing changed.
    case duplicate
    /// The instance is not placed on the reporting node (or does not exist).
    case notOwned
    /// The instance already reached a final state; the report was recorded as stale.
    case ignored
}

extension BerthDatabase {
    /// Inserts new instances (state `Scheduling`) and their first transition, atomically.
    ///
    /// With `drawMACs`, each instance without a `macAddress` draws the lowest free address of
    /// the pool, and one with an explicit address claims it, in the same transaction;
    /// ``PersistenceError/Code/conflict`` when the pool cannot serve them all.
    @discardableResult
    public func insertInstances(_ instances: [InstanceRow], drawMACs: Bool = false) async throws -> [InstanceRow] {
        try await engine.write { db in try Self.insertInstances(db, instances, drawMACs: drawMACs) }
    }

    /// Inserts several requests' instances in one transaction (group commit), each request
    /// in a savepoint of its own: a request that fails on its merits (a
    /// ``PersistenceError``, such as a MAC pool that cannot serve it) leaves nothing behind
    /// and does not stop the others. Any other error fails the whole transaction and throws.
    ///
    /// Returns one result per request, in order.
    public func insertInstanceGroups(
        _ groups: [[InstanceRow]],
        drawMACs: Bool
    ) async throws -> [Result<[InstanceRow], PersistenceError>] {
        try await engine.write { db in
            var results: [Result<[InstanceRow], PersistenceError>] = []
            for group in groups {
                do {
                    let stored = try db.savepoint { try Self.insertInstances(db, group, drawMACs: drawMACs) }
                    results.append(.success(stored))
                } catch let failure as PersistenceError {
                    results.append(.failure(failure))
                }
            }
            return results
        }
    }

    static func insertInstances(_ db: any SQLTransaction, _ instances: [InstanceRow], drawMACs: Bool) throws -> [InstanceRow] {
        var instances = instances
        if drawMACs {
            for index in instances.indices {
                instances[index].macAddress = try claimMAC(
                    db,
                    instanceID: instances[index].id,
                    wanted: instances[index].macAddress
                )
            }
        }
        for instance in instances {
            try instance.insertAllColumns(db)
            try InstanceTransitionRow(instanceId: instance.id, state: instance.state, ts: instance.ts).append(db)
        }
        return instances
    }

    public func instance(id: String) async throws -> InstanceRow? {
        try await engine.read { db in try db.fetch(InstanceRow.self, key: .text(id)) }
    }

    /// Every instance, oldest first.
    public func instances() async throws -> [InstanceRow] {
        try await engine.read { db in try db.fetch(InstanceRow.self, "ORDER BY cr_time, id") }
    }

    /// The state history of an instance, oldest first.
    public func transitions(instanceID: String) async throws -> [InstanceTransitionRow] {
        try await engine.read { db in
            try db.fetch(InstanceTransitionRow.self, "WHERE instance_id = ? ORDER BY id", [.text(instanceID)])
        }
    }

    /// Deletes these instances with their history (``StoredChange/instancesPurged(_:)``).
    static func deleteInstances(_ db: any SQLTransaction, ids: [String]) throws {
        for start in stride(from: 0, to: ids.count, by: 500) {
            let batch = ids[start..<min(start + 500, ids.count)].map(SQLValue.text)
            let marks = Array(repeating: "?", count: batch.count).joined(separator: ", ")
            try db.executeLater("DELETE FROM instance_transitions WHERE instance_id IN (\(marks))", batch)
            try db.executeLater("DELETE FROM instances WHERE id IN (\(marks))", batch)
        }
    }
}

/// Counts of live instances for the dashboard's samples (the fleet takes them from memory).
public struct InstanceCensus: Sendable, Equatable {
    /// Instances that are not Terminated, by state.
    public var byState: [String: Int] = [:]
    /// Creation times (microseconds) of the unplaced `Scheduling` instances: the queue.
    public var queuedSince: [Int64] = []
    /// Instances occupying each node (placed, neither Terminated nor Error).
    public var placedByNode: [String: Int] = [:]

    public init() {}
}
