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
    /// Ids in creation order (for listings), each with a sequence number that only grows:
    /// the cursor of a paged listing. Purged ids are dropped in batches.
    private var order: [(sequence: UInt64, id: String)] = []
    private var lastSequence: UInt64 = 0
    private var removedSinceCompaction = 0

    init(_ loaded: [InstanceRow] = []) {
        for row in loaded.sorted(by: { ($0.crTime, $0.id) < ($1.crTime, $1.id) }) { put(row) }
    }

    subscript(id: String) -> InstanceRow? { rows[id] }

    var count: Int { rows.count }

    /// Every instance, oldest first.
    var all: [InstanceRow] { order.compactMap { rows[$0.id] } }

    /// Up to `limit` instances created after the cursor `after` (0: from the oldest), oldest
    /// first, ending early once `budget` (a cost per row, e.g. its size) would be exceeded.
    /// `next` is the cursor of the following page, or 0 after the last.
    ///
    /// Costs O(log n) to find the cursor plus the page itself.
    func page(
        after: UInt64,
        limit: Int,
        budget: Int = .max,
        cost: (InstanceRow) -> Int = { _ in 0 }
    ) -> (rows: [InstanceRow], next: UInt64) {
        let limit = max(1, limit)
        var low = 0
        var high = order.count
        while low < high {
            let middle = (low + high) / 2
            if order[middle].sequence <= after { low = middle + 1 } else { high = middle }
        }
        var page: [InstanceRow] = []
        var spent = 0
        var index = low
        while index < order.count, page.count < limit {
            if let row = rows[order[index].id] {
                let price = cost(row)
                if !page.isEmpty, spent + price > budget { break }
                spent += price
                page.append(row)
            }
            index += 1
        }
        while index < order.count, rows[order[index].id] == nil { index += 1 }
        return (page, index < order.count ? order[index - 1].sequence : 0)
    }

    /// Adds or replaces an instance.
    mutating func put(_ row: InstanceRow) {
        let old = rows.updateValue(row, forKey: row.id)
        if old == nil {
            lastSequence += 1
            order.append((lastSequence, row.id))
        }
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
            order.removeAll { rows[$0.id] == nil }
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

    /// A page of a listing stays under this many bytes of instance records (the frame cap is 4 MiB).
    static let pageBudget = 1 << 20

    /// An upper estimate of an instance's ``InstanceRecord`` size on the wire.
    static func estimatedWireSize(_ row: InstanceRow) -> Int {
        let text = [
            row.id, row.state, row.message, row.templateId, row.templateName, row.tag, row.nodeId ?? "",
            row.inflightReqid, row.groupId, row.name, row.externalId, row.metadata, row.arch, row.vlan,
            row.waitReason, row.macAddress, row.usbDeviceId,
        ].reduce(0) { $0 + $1.utf8.count + 3 }
        return 128 + text + (row.scriptResult?.count ?? 0) + (row.vminfo?.count ?? 0)
    }

    static func isQueued(_ row: InstanceRow) -> Bool {
        row.state == "Scheduling" && row.nodeId == nil
    }
}
