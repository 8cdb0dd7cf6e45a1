import Persistence

extension Fleet {
    /// Anka's node and instance states, shown with 0 when none is in them, so a dashboard's
    /// series do not vanish when a state empties.
    static let nodeStates = ["Active", "Updating", "Unhealthy", "Offline"]
    static let instanceStates = [
        "Scheduling", "Pulling", "Started", "Stopping", "Stopped", "Terminating", "Terminated", "Error", "Pushing",
    ]

    /// Sets the scraped gauges from memory: one pass over the nodes and the instances, made
    /// once per scrape (every 15 s or so), never per event. A whole scrape at 10,000 nodes,
    /// this pass and the 11 MB of text, takes about 170 ms (docs/performance.md).
    func refreshMetrics() {
        let metrics = self.metrics
        var nodesByState = Dictionary(uniqueKeysWithValues: Self.nodeStates.map { ($0, 0) })
        var groupNodes: [[String]: Int] = [:]
        var nodeStates: [(labels: [String], value: Double)] = []
        var memberships: [(labels: [String], value: Double)] = []
        var figures: [ControlPlaneMetrics.NodeFigure: [(labels: [String], value: Double)]] = [:]
        for figure in ControlPlaneMetrics.NodeFigure.allCases { figures[figure, default: []].reserveCapacity(nodes.count) }
        for (_, node) in nodes {
            let (row, state, used) = live(node)
            nodesByState[state, default: 0] += 1
            nodeStates.append(([row.id, row.name, row.arch, state], 1))
            for groupID in groups.memberships[row.id] ?? [] {
                let name = groups[groupID]?.name ?? ""
                groupNodes[[groupID, name, state], default: 0] += 1
                memberships.append(([row.id, groupID, name], 1))
            }
            let labels = [row.id, row.name]
            let values: [ControlPlaneMetrics.NodeFigure: Double] = [
                .instances: Double(used.count),
                .capacity: Double(row.maxVmCount),
                .cpuCores: Double(row.cpuCount),
                .cpuUtilization: row.cpuUtil,
                .ramBytes: Double(row.ramMb) * 1_048_576,
                .ramUtilization: row.ramUtil,
                .vcpusUsed: Double(used.vcpu),
                .vramUsedBytes: Double(used.ramMB) * 1_048_576,
                .diskTotalBytes: Double(row.diskSize),
                .diskFreeBytes: Double(row.freeDisk),
                .templateCacheBytes: Double(row.cacheBytes),
            ]
            for (figure, value) in values { figures[figure, default: []].append((labels, value)) }
        }
        metrics.nodesByState.update(nodesByState.map { ([$0.key], Double($0.value)) })
        metrics.groupNodes.update(groupNodes.map { ($0.key, Double($0.value)) })
        metrics.nodeState.update(nodeStates)
        metrics.nodeGroupMembership.update(memberships)
        for (figure, values) in figures { metrics.nodeFigures[figure]?.update(values) }

        var byState = Dictionary(uniqueKeysWithValues: Self.instanceStates.map { ($0, 0) })
        var byTemplate: [[String]: Int] = [:]
        var byGroup: [[String]: Int] = [:]
        for row in instances.rows.values {
            byState[row.state, default: 0] += 1
            byTemplate[[row.state, row.templateId], default: 0] += 1
            if !row.groupId.isEmpty { byGroup[[row.state, row.groupId], default: 0] += 1 }
        }
        metrics.instancesByState.update(byState.map { ([$0.key], Double($0.value)) })
        metrics.instancesByTemplate.update(byTemplate.map { ($0.key, Double($0.value)) })
        metrics.instancesByGroup.update(byGroup.map { ($0.key, Double($0.value)) })

        let now = BerthDatabase.nowMicros()
        let oldest = instances.queued.compactMap { instances[$0]?.crTime }.min()
        metrics.queueLength.record(instances.queued.count)
        metrics.queueOldest.record(oldest.map { Double(max(0, now - $0)) / 1_000_000 } ?? 0)
        metrics.connections.update([(["node"], Double(links.count)), (["gateway"], Double(gateways.count))])
    }
}
