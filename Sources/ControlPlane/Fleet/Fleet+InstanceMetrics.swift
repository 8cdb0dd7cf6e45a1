import Persistence
import WireProtocol

/// Per-instance metrics (docs/extensions.md): CPU and memory from the node's last
/// heartbeat, uptime from the VM's start date, restarts from the restart policy's count.
/// Nothing is stored: a heartbeat replaces the figures, and a lost connection drops them.
extension Fleet {
    /// One instance's metrics, or (empty `id`) those of every instance not `Terminated`,
    /// oldest first.
    func instanceMetrics(id: String) throws -> [InstanceMetrics] {
        let rows: [InstanceRow]
        if id.isEmpty {
            rows = instances.all.filter { $0.state != "Terminated" }
        } else {
            guard let row = instances[id] else { throw ControlPlaneError.notFound("No such instance \(id)") }
            rows = [row]
        }
        let now = BerthDatabase.nowMicros()
        // Each node's figures once, by instance, however many of its instances are asked for.
        var figuresByNode: [String: [String: InstanceFigures]] = [:]
        return rows.map { row in
            var metrics = InstanceMetrics()
            metrics.instanceID = row.id
            metrics.state = InstanceState(ankaName: row.state) ?? .error
            metrics.nodeID = row.nodeId ?? ""
            metrics.restartCount = row.restartCount
            guard row.state == "Started", let nodeID = row.nodeId else { return metrics }
            if let bytes = row.vminfo, let info = try? VMInfo(bytes: bytes), info.startDateMicros > 0 {
                metrics.uptimeSeconds = max(0, Double(now - Int64(info.startDateMicros)) / 1e6)
            }
            if figuresByNode[nodeID] == nil {
                let heartbeat = links[nodeID]?.session.heartbeat.withLock { $0 }
                figuresByNode[nodeID] = Dictionary(
                    (heartbeat?.figures ?? []).map { ($0.instanceID, $0) },
                    uniquingKeysWith: { first, _ in first }
                )
            }
            if let figures = figuresByNode[nodeID]?[row.id] {
                metrics.reported = true
                metrics.cpuPercent = figures.cpuPercent
                metrics.memoryBytes = figures.memoryBytes
            }
            return metrics
        }
    }
}
