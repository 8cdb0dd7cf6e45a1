import Persistence

/// Every instance the control plane holds (live ones, and ended ones until they are
/// purged), in memory, with the indexes scheduling needs kept up to date on each change:
/// the queue of unplaced instances and what each node's instances occupy.
///
/// All changes go through ``put(_:)`` and ``remove(_:)``, which adjust the indexes by the
/// difference between the old row and the new one. So a change costs the same whatever the
/// size of the fleet.
struct InstanceTable {
    private(set) var rows: [String: InstanceRow] = [:]
    /// Unplaced `Scheduling` instances: the scheduler's queue.
    private(set) var queued: Set<String> = []
    /// Per node: what its live instances occupy.
    private(set) var occupancy: [String: NodeOccupancy] = [:]
    /// Ids in creation order (for listings); purged ids are dropped in batches.
    private var order: [String] = []
    private var removedSinceCompaction = 0

    init(_ loaded: [InstanceRow] = []) {
        for row in loaded.sorted(by: { ($0.crTime, $0.id) < ($1.crTime, $1.id) }) { put(row) }
    }

    subscript(id: String) -> InstanceRow? { rows[id] }

    var count: Int { rows.count }

    /// Every instance, oldest first.
    var all: [InstanceRow] { order.compactMap { rows[$0] } }

    /// Adds or replaces an instance.
    mutating func put(_ row: InstanceRow) {
        let old = rows.updateValue(row, forKey: row.id)
        if old == nil { order.append(row.id) }
        if let old {
            if Self.isQueued(old) { queued.remove(old.id) }
            if NodeOccupancy.occupies(old), let node = old.nodeId { occupancy[node]?.remove(old) }
        }
        if Self.isQueued(row) { queued.insert(row.id) }
        if NodeOccupancy.occupies(row), let node = row.nodeId { occupancy[node, default: NodeOccupancy()].add(row) }
        if let node = old?.nodeId, occupancy[node]?.isEmpty == true { occupancy.removeValue(forKey: node) }
    }

    mutating func remove(_ id: String) {
        guard let old = rows.removeValue(forKey: id) else { return }
        queued.remove(id)
        if NodeOccupancy.occupies(old), let node = old.nodeId {
            occupancy[node]?.remove(old)
            if occupancy[node]?.isEmpty == true { occupancy.removeValue(forKey: node) }
        }
        removedSinceCompaction += 1
        if removedSinceCompaction > 1024 && removedSinceCompaction > order.count / 4 {
            order.removeAll { rows[$0] == nil }
            removedSinceCompaction = 0
        }
    }

    /// The instances occupying a node.
    func live(on nodeID: String) -> [InstanceRow] {
        (occupancy[nodeID]?.instanceIDs ?? []).compactMap { rows[$0] }
    }

    /// Instances placed on a node that have not ended (`Terminated`): what deleting the node ends.
    func placed(on nodeID: String) -> [InstanceRow] {
        rows.values.filter { $0.nodeId == nodeID && $0.state != "Terminated" }
    }

    static func isQueued(_ row: InstanceRow) -> Bool {
        row.state == "Scheduling" && row.nodeId == nil
    }
}
