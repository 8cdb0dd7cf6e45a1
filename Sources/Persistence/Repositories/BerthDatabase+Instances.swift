import GRDB

/// One placement decided by the scheduler: the instance, its node and the start command.
public struct Placement: Sendable {
    public var instanceID: String
    public var nodeID: String
    public var requestID: String
    public var commandPayload: [UInt8]?
    /// The USB device claimed for the instance, if it asked for one.
    public var usbDeviceID: String = ""

    public init(instanceID: String, nodeID: String, requestID: String, commandPayload: [UInt8]?) {
        self.instanceID = instanceID
        self.nodeID = nodeID
        self.requestID = requestID
        self.commandPayload = commandPayload
    }
}

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
    /// Persisted; the new row.
    case applied(InstanceRow)
    /// Its idempotency key was applied before; nothing changed.
    case duplicate
    /// The instance is not placed on the reporting node (or does not exist).
    case notOwned
    /// The instance already reached a final state; the report was recorded as stale.
    case ignored
}

/// What a termination request did.
public enum TerminationOutcome: Sendable, Equatable {
    /// Not placed on a node yet: terminated at once.
    case terminated
    /// Placed: now `Terminating`, with this command queued for its node.
    case commandQueued(NodeCommandRow)
    /// Already `Terminating` or `Terminated`.
    case alreadyTerminating
}

extension BerthDatabase {
    /// Inserts new instances (state `Scheduling`) and their first transition, atomically.
    ///
    /// With `drawMACs`, each instance without a `macAddress` draws the lowest free address of
    /// the pool, and one with an explicit address claims it, in the same transaction;
    /// ``PersistenceError/Code/conflict`` when the pool cannot serve them all.
    @discardableResult
    public func insertInstances(_ instances: [InstanceRow], drawMACs: Bool = false) async throws -> [InstanceRow] {
        try await writer.write { db in
            var instances = instances
            if drawMACs {
                for index in instances.indices {
                    instances[index].macAddress = try Self.claimMAC(
                        db,
                        instanceID: instances[index].id,
                        wanted: instances[index].macAddress
                    )
                }
            }
            for instance in instances {
                try instance.insert(db)
                var transition = InstanceTransitionRow(instanceId: instance.id, state: instance.state, ts: instance.ts)
                try transition.insert(db)
            }
            return instances
        }
    }

    public func instance(id: String) async throws -> InstanceRow? {
        try await writer.read { db in try InstanceRow.fetchOne(db, key: id) }
    }

    /// Every instance, oldest first.
    public func instances() async throws -> [InstanceRow] {
        try await writer.read { db in try InstanceRow.order(Column("cr_time"), Column("id")).fetchAll(db) }
    }

    /// Instances placed on `nodeID` that still occupy it.
    public func liveInstances(nodeID: String) async throws -> [InstanceRow] {
        try await writer.read { db in
            try InstanceRow
                .filter(Column("node_id") == nodeID && !["Terminated", "Error"].contains(Column("state")))
                .fetchAll(db)
        }
    }

    /// Every instance that occupies a node, for the scheduler's capacity view.
    public func placedLiveInstances() async throws -> [InstanceRow] {
        try await writer.read { db in
            try InstanceRow
                .filter(Column("node_id") != nil && !["Terminated", "Error"].contains(Column("state")))
                .fetchAll(db)
        }
    }

    /// The scheduler's queue: unplaced `Scheduling` instances by priority, then age.
    public func pendingInstances(limit: Int = 10_000) async throws -> [InstanceRow] {
        try await writer.read { db in
            try InstanceRow
                .filter(Column("state") == "Scheduling" && Column("node_id") == nil)
                .order(Column("priority"), Column("cr_time"), Column("id"))
                .limit(limit)
                .fetchAll(db)
        }
    }

    /// The state history of an instance, oldest first.
    public func transitions(instanceID: String) async throws -> [InstanceTransitionRow] {
        try await writer.read { db in
            try InstanceTransitionRow
                .filter(Column("instance_id") == instanceID)
                .order(Column("id"))
                .fetchAll(db)
        }
    }

    /// Commits a scheduling pass in one transaction: each placement updates its instance
    /// and queues a start command; each unplaced instance records why it waits.
    ///
    /// Returns the queued commands with their ids. A placement whose instance is no
    /// longer an unplaced `Scheduling` one (terminated meanwhile) is skipped.
    public func commitSchedulingPass(
        placements: [Placement],
        waitReasons: [String: String],
        now: Int64
    ) async throws -> [NodeCommandRow] {
        try await writer.write { db in
            var commands: [NodeCommandRow] = []
            for placement in placements {
                try db.execute(
                    sql: """
                        UPDATE instances SET node_id = ?, inflight_reqid = ?, wait_reason = '', ts = ?, usb_device_id = ?
                        WHERE id = ? AND state = 'Scheduling' AND node_id IS NULL
                        """,
                    arguments: [
                        placement.nodeID, placement.requestID, now, placement.usbDeviceID, placement.instanceID,
                    ]
                )
                guard db.changesCount > 0 else { continue }
                var command = NodeCommandRow(
                    nodeId: placement.nodeID,
                    instanceId: placement.instanceID,
                    kind: "start",
                    payload: placement.commandPayload,
                    createdAt: now
                )
                try command.insert(db)
                commands.append(command)
            }
            for (id, reason) in waitReasons {
                try db.execute(
                    sql: "UPDATE instances SET wait_reason = ? WHERE id = ? AND wait_reason != ?",
                    arguments: [reason, id, reason]
                )
            }
            return commands
        }
    }

    /// Applies a node's report of an instance's state, exactly once per idempotency key.
    public func applyTransition(_ report: TransitionReport) async throws -> TransitionOutcome {
        try await writer.write { db in
            guard var node = try NodeRow.fetchOne(db, key: report.nodeID) else { return .notOwned }
            if report.isEvent && report.eventEpoch == node.eventEpoch && report.eventSeq <= node.eventSeq {
                return .duplicate
            }
            guard var instance = try InstanceRow.fetchOne(db, key: report.instanceID),
                instance.nodeId == report.nodeID
            else { return .notOwned }
            if report.isEvent {
                node.eventEpoch = report.eventEpoch
                node.eventSeq = report.eventSeq
                try node.update(db, columns: ["event_epoch", "event_seq"])
            }
            if instance.state == "Terminated" {
                return .ignored
            }
            // Terminating is sticky: a late report from a start in progress must not
            // bring a terminating instance back; only its end replaces it.
            var newState = report.state
            if instance.state == "Terminating" && newState != "Terminated" && newState != "Error" {
                newState = "Terminating"
            }
            let stateChanged = instance.state != newState
            if newState == "Terminated" { try Self.releaseMAC(db, instanceID: instance.id) }
            instance.state = newState
            instance.message = report.message
            instance.progress = report.progress
            if let vminfo = report.vminfo { instance.vminfo = vminfo }
            if let scriptResult = report.scriptResult { instance.scriptResult = scriptResult }
            instance.ts = report.ts
            if report.state != "Scheduling" && report.state != "Pulling" { instance.inflightReqid = "" }
            try instance.update(db)
            if stateChanged {
                var transition = InstanceTransitionRow(
                    instanceId: instance.id,
                    state: newState,
                    message: report.message,
                    ts: report.ts
                )
                try transition.insert(db)
            }
            return .applied(instance)
        }
    }

    /// Marks an instance `Error` (or another state) on the control plane's own authority,
    /// e.g. when a node reconnects without it.
    public func forceState(instanceID: String, state: String, message: String, now: Int64) async throws {
        try await writer.write { db in
            guard var instance = try InstanceRow.fetchOne(db, key: instanceID), instance.state != state else { return }
            if state == "Terminated" { try Self.releaseMAC(db, instanceID: instanceID) }
            instance.state = state
            instance.message = message
            instance.ts = now
            try instance.update(db)
            var transition = InstanceTransitionRow(instanceId: instanceID, state: state, message: message, ts: now)
            try transition.insert(db)
        }
    }

    /// Starts terminating an instance. Throws ``PersistenceError/Code/notFound``.
    public func requestTermination(instanceID: String, now: Int64) async throws -> TerminationOutcome {
        try await writer.write { db in
            guard var instance = try InstanceRow.fetchOne(db, key: instanceID) else {
                throw PersistenceError(.notFound, "no instance with id \(instanceID)")
            }
            if instance.state == "Terminating" || instance.state == "Terminated" {
                return .alreadyTerminating
            }
            guard let nodeID = instance.nodeId else {
                try Self.releaseMAC(db, instanceID: instanceID)
                instance.state = "Terminated"
                instance.waitReason = ""
                instance.ts = now
                try instance.update(db)
                var transition = InstanceTransitionRow(instanceId: instanceID, state: "Terminated", ts: now)
                try transition.insert(db)
                return .terminated
            }
            instance.state = "Terminating"
            instance.ts = now
            try instance.update(db)
            var transition = InstanceTransitionRow(instanceId: instanceID, state: "Terminating", ts: now)
            try transition.insert(db)
            var command = NodeCommandRow(
                nodeId: nodeID,
                instanceId: instanceID,
                kind: "terminate",
                payload: nil,
                createdAt: now
            )
            try command.insert(db)
            return .commandQueued(command)
        }
    }

    /// Changes an instance's name, external id or metadata; `nil` keeps a value.
    /// Throws ``PersistenceError/Code/notFound``.
    public func updateInstance(
        id: String,
        name: String?,
        externalID: String?,
        metadata: String?,
        now: Int64
    ) async throws -> InstanceRow {
        try await writer.write { db in
            guard var instance = try InstanceRow.fetchOne(db, key: id) else {
                throw PersistenceError(.notFound, "no instance with id \(id)")
            }
            if let name { instance.name = name }
            if let externalID { instance.externalId = externalID }
            if let metadata { instance.metadata = metadata }
            instance.ts = now
            try instance.update(db)
            return instance
        }
    }

    /// Queues a restart for a running (or stopped) instance on its node.
    ///
    /// Throws ``PersistenceError/Code/notFound``, or ``PersistenceError/Code/conflict`` when the
    /// instance is not in a state that can restart.
    public func requestRestart(instanceID: String, now: Int64) async throws -> NodeCommandRow {
        try await writer.write { db in
            guard let instance = try InstanceRow.fetchOne(db, key: instanceID) else {
                throw PersistenceError(.notFound, "no instance with id \(instanceID)")
            }
            guard let nodeID = instance.nodeId, instance.state == "Started" || instance.state == "Stopped" else {
                throw PersistenceError(
                    .conflict,
                    "instance \(instanceID) is \(instance.state); only a Started or Stopped instance can restart"
                )
            }
            var command = NodeCommandRow(
                nodeId: nodeID,
                instanceId: instanceID,
                kind: "restart",
                payload: nil,
                createdAt: now
            )
            try command.insert(db)
            return command
        }
    }

    /// Deletes instances terminated before `cutoff`, with their history. Returns how many.
    @discardableResult
    public func purgeTerminated(before cutoff: Int64) async throws -> Int {
        try await writer.write { db in
            try db.execute(
                sql: """
                    DELETE FROM instance_transitions WHERE instance_id IN
                      (SELECT id FROM instances WHERE state = 'Terminated' AND ts < ?)
                    """,
                arguments: [cutoff]
            )
            try db.execute(sql: "DELETE FROM instances WHERE state = 'Terminated' AND ts < ?", arguments: [cutoff])
            return db.changesCount
        }
    }
}

/// Counts of live instances for the dashboard's samples.
public struct InstanceCensus: Sendable, Equatable {
    /// Instances that are not Terminated, by state.
    public var byState: [String: Int] = [:]
    /// Creation times (microseconds) of the unplaced `Scheduling` instances: the queue.
    public var queuedSince: [Int64] = []
    /// Instances occupying each node (placed, neither Terminated nor Error).
    public var placedByNode: [String: Int] = [:]

    public init() {}
}

extension BerthDatabase {
    /// One read: live instances by state and by node, and when each queued instance was created.
    public func instanceCensus() async throws -> InstanceCensus {
        try await writer.read { db in
            var census = InstanceCensus()
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT state, COUNT(*) AS n FROM instances WHERE state != 'Terminated' GROUP BY state"
            )
            for row in rows { census.byState[row["state"]] = row["n"] }
            let placed = try Row.fetchAll(
                db,
                sql: """
                    SELECT node_id, COUNT(*) AS n FROM instances
                    WHERE node_id IS NOT NULL AND state NOT IN ('Terminated', 'Error') GROUP BY node_id
                    """
            )
            for row in placed { census.placedByNode[row["node_id"]] = row["n"] }
            census.queuedSince = try Int64.fetchAll(
                db,
                sql: "SELECT cr_time FROM instances WHERE state = 'Scheduling' AND node_id IS NULL"
            )
            return census
        }
    }
}
