import Persistence
import WireProtocol

/// Restart policies (docs/extensions.md): an instance whose VM ended on its own is started
/// again on its node after a backoff, and one whose node was lost is placed again, until
/// the policy's most restarts are spent.
///
/// The decision is made in the same synchronous step as the report that prompted it, and
/// a restart's due time is stored with the instance (`restart_at`), so a restart pending
/// when the control plane stops happens after it starts again. ``sweep()`` issues the
/// restarts that are due.
extension Fleet {
    /// The policy's answer to `row`'s VM having ended on its own (`row` already holds the
    /// report's state: `Stopped` for a clean exit, `Error` for a crash): a restart due
    /// after the backoff, the restart limit, or nothing.
    func applyRestartPolicy(afterExit row: inout InstanceRow, now: Int64) {
        let policy = RestartPolicy(rawValue: row.restartPolicy) ?? .never
        guard policy.restarts(failed: row.state == "Error") else { return }
        guard row.restartCount < row.maxRestarts else {
            reachRestartLimit(&row, now: now)
            return
        }
        let delay = restartDelay(after: row.restartCount)
        row.restartAt = now + delay
        row.message =
            (row.message.isEmpty ? "the VM ended" : row.message)
            + "; restart \(row.restartCount + 1) of \(row.maxRestarts) in \(Self.seconds(delay))"
        pendingRestarts[row.id] = row.restartAt
    }

    /// The policy's answer to `row`'s node being lost while it ran: placed again at once
    /// (on any node), the restart limit, or `false` when the policy does not restart.
    func applyRestartPolicy(nodeLost row: inout InstanceRow, nodeID: String, now: Int64) -> Bool {
        let policy = RestartPolicy(rawValue: row.restartPolicy) ?? .never
        guard policy.restarts(failed: true) else { return false }
        guard row.restartCount < row.maxRestarts else {
            row.state = "Error"
            row.message = "node \(nodeID) was lost"
            reachRestartLimit(&row, now: now)
            return true
        }
        row.restartCount += 1
        row.state = "Scheduling"
        row.nodeId = nil
        row.usbDeviceId = ""
        row.vminfo = nil
        row.progress = 0
        row.inflightReqid = ""
        row.restartAt = 0
        row.message = "node \(nodeID) was lost; placing it again (restart \(row.restartCount) of \(row.maxRestarts))"
        row.waitReason = "waiting for the scheduler"
        pendingRestarts.removeValue(forKey: row.id)
        logger.notice(
            "instance placed again: its node was lost",
            metadata: ["instance": "\(row.id)", "node": "\(nodeID)", "restart": "\(row.restartCount)"]
        )
        return true
    }

    /// Issues the restarts that are due: each a `restart` command to the instance's node,
    /// counted, in one step with the check that the instance still waits for it.
    func issueDueRestarts(now: Int64) async {
        var flushed: Set<String> = []
        var last: FleetJournal.Ticket?
        for (id, due) in pendingRestarts where due <= now {
            pendingRestarts.removeValue(forKey: id)
            guard var row = instances[id], row.restartAt > 0, row.state == "Stopped" || row.state == "Error",
                let nodeID = row.nodeId, nodes[nodeID] != nil
            else { continue }
            row.restartAt = 0
            row.restartCount += 1
            row.message = "restarting (restart \(row.restartCount) of \(row.maxRestarts))"
            row.ts = now
            save(row)
            last = queueCommand(nodeID: nodeID, instanceID: id, kind: "restart", payload: nil, now: now)
            flushed.insert(nodeID)
            publishInstance(id: id)
            logger.info("restarting an instance by its policy", metadata: ["instance": "\(id)", "node": "\(nodeID)"])
        }
        guard let last else { return }
        do {
            try await journal.durable(last)
        } catch {
            // Memory is in force and the journal retries; the commands go once stored.
            logger.warning("restart commands not stored yet", metadata: ["error": "\(error)"])
            return
        }
        for nodeID in flushed { await flushCommands(nodeID: nodeID) }
    }

    /// Rebuilds the pending restarts from the loaded instances.
    func loadPendingRestarts() {
        pendingRestarts = [:]
        for row in instances.rows.values where row.restartAt > 0 { pendingRestarts[row.id] = row.restartAt }
    }

    /// The wait before restart `count + 1`: the base doubled per restart made, capped.
    func restartDelay(after count: Int) -> Int64 {
        let base = configuration.restartBackoff * 1e6
        let delay = base * Double(1 << min(count, 30))
        return Int64(min(delay, configuration.restartBackoffMaximum * 1e6))
    }

    private func reachRestartLimit(_ row: inout InstanceRow, now: Int64) {
        row.restartAt = 0
        pendingRestarts.removeValue(forKey: row.id)
        row.stopReason = InstanceStopReason.restartLimit.rawValue
        row.stoppedBy = "restart policy \(row.restartPolicy)"
        row.stoppedAt = now
        row.message =
            (row.message.isEmpty ? "the VM ended" : row.message)
            + "; no restart: all \(row.maxRestarts) restarts are spent"
    }

    private static func seconds(_ micros: Int64) -> String {
        micros % 1_000_000 == 0 ? "\(micros / 1_000_000)s" : "\(Double(micros) / 1e6)s"
    }
}
