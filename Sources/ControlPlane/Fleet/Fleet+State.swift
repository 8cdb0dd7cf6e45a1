import Persistence
import WireProtocol

/// The few primitives every change of an instance or command goes through: each changes
/// memory and journals the change in one synchronous step, so nothing can come between
/// reading the state and writing it, and storage sees changes in the order memory did.
extension Fleet {
    /// Puts a changed instance in memory and journals it, with a history step when its
    /// state changed and the release of its managed MAC address when it ended.
    @discardableResult
    func save(_ row: InstanceRow) -> FleetJournal.Ticket {
        let old = instances[row.id]
        instances.put(row)
        var ticket = journal.append(.instance(row))
        if let old, old.state != row.state {
            ticket = journal.append(
                .transition(InstanceTransitionRow(instanceId: row.id, state: row.state, message: row.message, ts: row.ts))
            )
            if row.state == "Terminated", !row.macAddress.isEmpty {
                ticket = journal.append(.macReleased(instanceID: row.id))
            }
        }
        return ticket
    }

    /// Issues a command to a node's outbox and journals it. It is sent (by
    /// ``flushCommands(nodeID:)``) once durable.
    @discardableResult
    func queueCommand(
        nodeID: String,
        instanceID: String,
        kind: String,
        payload: [UInt8]?,
        now: Int64
    ) -> FleetJournal.Ticket {
        let row = outbox.issue(nodeID: nodeID, instanceID: instanceID, kind: kind, payload: payload, now: now)
        let ticket = journal.append(.command(row))
        outbox.add(row, ticket: ticket)
        logger.trace(
            "command issued",
            metadata: ["node": "\(nodeID)", "kind": "\(kind)", "command": "\(row.id ?? 0)", "instance": "\(instanceID)"]
        )
        return ticket
    }

    /// Applies a node's report of an instance's state to memory, exactly once per
    /// idempotency key, and journals it. Returns the ticket of the last change journaled.
    func applyReport(_ report: TransitionReport) -> (outcome: TransitionOutcome, ticket: FleetJournal.Ticket?) {
        guard var node = nodes[report.nodeID] else { return (.notOwned, nil) }
        if report.isEvent && report.eventEpoch == node.eventEpoch && report.eventSeq <= node.eventSeq {
            return (.duplicate, nil)
        }
        guard var instance = instances[report.instanceID], instance.nodeId == report.nodeID else {
            return (.notOwned, nil)
        }
        var ticket: FleetJournal.Ticket?
        if report.isEvent {
            node.eventEpoch = report.eventEpoch
            node.eventSeq = report.eventSeq
            nodes[node.id] = node
            ticket = journal.append(.nodeEventKey(nodeID: node.id, epoch: report.eventEpoch, sequence: report.eventSeq))
        }
        if instance.state == "Terminated" { return (.ignored, ticket) }
        // Terminating is sticky: a late report from a start in progress must not bring a
        // terminating instance back; only its end replaces it.
        var state = report.state
        if instance.state == "Terminating" && state != "Terminated" && state != "Error" { state = "Terminating" }
        instance.state = state
        switch state {
        case "Started":
            instance.clearStop()
            instance.restartAt = 0
            pendingRestarts.removeValue(forKey: instance.id)
        case "Stopped" where report.exited:
            instance.recordStop(.driverError, by: "node \(report.nodeID)", at: report.ts)
        case "Error", "Terminated":
            let scriptFailed = report.scriptResult.flatMap { try? ScriptResult(bytes: $0) }.map { !$0.succeeded }
            instance.recordStop(
                scriptFailed == true ? .scriptFailed : .driverError,
                by: "node \(report.nodeID)",
                at: report.ts
            )
        default:
            break
        }
        instance.message = report.message
        instance.progress = report.progress
        if let vminfo = report.vminfo { instance.vminfo = vminfo }
        if let scriptResult = report.scriptResult { instance.scriptResult = scriptResult }
        instance.ts = report.ts
        if report.state != "Scheduling" && report.state != "Pulling" { instance.inflightReqid = "" }
        if report.exited && (state == "Stopped" || state == "Error") {
            applyRestartPolicy(afterExit: &instance, now: report.ts)
        }
        ticket = save(instance)
        return (.applied(instance), ticket)
    }

    /// Forgets instances terminated before `cutoff` and journals their deletion.
    func purgeTerminated(before cutoff: Int64) {
        let expired = instances.rows.values.filter { $0.state == "Terminated" && $0.ts < cutoff }.map(\.id)
        // Ended environments go with their last member, after the same retention.
        let ended = environments.values.filter { !$0.isLive && $0.endedAt < cutoff }
        var stillHeld: Set<String> = []
        if !ended.isEmpty {
            let leaving = Set(expired)
            for row in instances.rows.values where !row.envId.isEmpty && !leaving.contains(row.id) {
                stillHeld.insert(row.envId)
            }
        }
        for environment in ended where !stillHeld.contains(environment.id) {
            environments.removeValue(forKey: environment.id)
            journal.append(.environmentPurged(id: environment.id))
        }
        guard !expired.isEmpty else { return }
        for id in expired { instances.remove(id) }
        journal.append(.instancesPurged(expired))
        logger.info("purged terminated instances", metadata: ["count": "\(expired.count)"])
    }
}
