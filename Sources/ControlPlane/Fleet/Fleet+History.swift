import NIOCore
import Persistence
import WireProtocol

/// The last hour of fleet samples, oldest first, in a fixed-size ring.
struct FleetSampleRing: Sendable {
    private(set) var samples: [FleetSample] = []
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    mutating func append(_ sample: FleetSample) {
        if samples.count == capacity { samples.removeFirst() }
        samples.append(sample)
    }
}

extension Fleet {
    /// The fleet now: active nodes, capacity, utilisation and instances by state.
    func sampleFleet() async throws -> FleetSample {
        var census = InstanceCensus()
        for row in instances.rows.values where row.state != "Terminated" { census.byState[row.state, default: 0] += 1 }
        census.queuedSince = instances.queued.compactMap { instances[$0]?.crTime }
        census.placedByNode = instances.occupancy.mapValues(\.count)
        var sample = FleetSample()
        sample.enrolledNodes = nodes.count
        let now = BerthDatabase.nowMicros()
        sample.tsMicros = Int(now)
        sample.instancesByState = census.byState
        sample.queueLength = census.queuedSince.count
        if !census.queuedSince.isEmpty {
            let waits = census.queuedSince.map { max(0, Int(now - $0) / 1000) }
            sample.queueWaitAverageMillis = waits.reduce(0, +) / waits.count
            sample.queueWaitMaxMillis = waits.max() ?? 0
        }
        var cpu = 0.0
        var ram = 0.0
        for (id, link) in links {
            guard var row = nodes[id] else { continue }
            if let heartbeat = link.session.heartbeat.withLock({ $0 }) { apply(heartbeat, to: &row) }
            sample.activeNodes += 1
            sample.capacityTotal += row.maxVmCount
            sample.capacityUsed += census.placedByNode[id] ?? 0
            cpu += row.cpuUtil
            ram += row.ramUtil
        }
        if sample.activeNodes > 0 {
            sample.cpuUtil = cpu / Double(sample.activeNodes)
            sample.ramUtil = ram / Double(sample.activeNodes)
        }
        return sample
    }

    /// Called by the sweep: keeps one sample per ``ControlPlaneConfiguration/historyInterval``.
    func recordSampleIfDue(now: NIODeadline) async {
        guard now - lastSample >= .milliseconds(Int64(configuration.historyInterval * 1000)) else { return }
        lastSample = now
        do {
            history.append(try await sampleFleet())
        } catch {
            logger.error("fleet sample failed", metadata: ["error": "\(error)"])
        }
    }

    /// The kept samples plus one taken now, so the charts end at the present.
    func fleetHistory() async throws -> [FleetSample] {
        history.samples + [try await sampleFleet()]
    }
}
