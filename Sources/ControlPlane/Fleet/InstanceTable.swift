import Persistence
import WireProtocol

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
    /// Ids removed whose entries in `order` are still there (until the next compaction).
    private var removedSinceCompaction: Set<String> = []
    /// Each instance's ``InstanceRecord`` as the last listing encoded it, until the
    /// instance changes: a listing of an unchanged fleet copies bytes instead of building
    /// and encoding a record (and decoding its `vminfo`) per instance.
    private var encodedRecords: [String: [UInt8]] = [:]
    /// Nodes whose occupancy changed since the last ``takeChangedNodes()``.
    private var changedNodes: Set<String> = []

    init(_ loaded: [InstanceRow] = []) {
        for row in loaded.sorted(by: { ($0.crTime, $0.id) < ($1.crTime, $1.id) }) { put(row) }
    }

    subscript(id: String) -> InstanceRow? { rows[id] }

    var count: Int { rows.count }

    /// Every instance, oldest first.
    var all: [InstanceRow] { order.compactMap { rows[$0.id] } }

    /// Up to `limit` instances created after the cursor `after` (0: from the oldest), oldest
    /// first, each made into an element by `element`, ending early once `budget` (the sum
    /// of the elements' costs) would be exceeded. A page holds at least one element while
    /// instances remain. `next` is the cursor of the following page, or 0 after the last.
    ///
    /// Costs O(log n) to find the cursor plus the page itself.
    func page<Element>(
        after: UInt64,
        limit: Int,
        budget: Int = .max,
        where included: (InstanceRow) -> Bool = { _ in true },
        _ element: (InstanceRow) -> (Element, cost: Int)
    ) -> (elements: [Element], next: UInt64) {
        let limit = max(1, limit)
        var low = 0
        var high = order.count
        while low < high {
            let middle = (low + high) / 2
            if order[middle].sequence <= after { low = middle + 1 } else { high = middle }
        }
        var page: [Element] = []
        page.reserveCapacity(min(limit, order.count - low))
        var spent = 0
        var index = low
        while index < order.count, page.count < limit {
            if let row = rows[order[index].id], included(row) {
                let (value, price) = element(row)
                if !page.isEmpty, spent + price > budget { break }
                spent += price
                page.append(value)
            }
            index += 1
        }
        // Skipped past what follows and is not listed, so a page is empty only at the end.
        while index < order.count, rows[order[index].id].map(included) != true { index += 1 }
        return (page, index < order.count ? order[index - 1].sequence : 0)
    }

    /// A page of encoded ``InstanceRecord``s (see ``page(after:limit:budget:_:)``), at most
    /// `budget` bytes unless one record alone is larger. Records are encoded once per change
    /// of their instance and kept for the next listing.
    /// With `tags`, only instances carrying every one of them are listed.
    mutating func recordPage(
        after: UInt64,
        limit: Int,
        budget: Int,
        tags: [String] = []
    ) -> (records: [[UInt8]], next: UInt64) {
        let (page, encodedNow) = cachedRecordPage(after: after, limit: limit, budget: budget, tags: tags)
        for (id, bytes) in encodedNow { encodedRecords[id] = bytes }
        return (page.elements, page.next)
    }

    private func cachedRecordPage(
        after: UInt64,
        limit: Int,
        budget: Int,
        tags: [String]
    ) -> (page: (elements: [[UInt8]], next: UInt64), encodedNow: [(String, [UInt8])]) {
        var encodedNow: [(String, [UInt8])] = []
        let page = page(
            after: after,
            limit: limit,
            budget: budget,
            where: { tags.isEmpty || InstanceTags.matches($0.tags, wanted: tags) }
        ) { row -> ([UInt8], cost: Int) in
            if let bytes = encodedRecords[row.id] { return (bytes, bytes.count) }
            let bytes = InstanceRecord(row).encodedBytes()
            encodedNow.append((row.id, bytes))
            return (bytes, bytes.count)
        }
        return (page, encodedNow)
    }

    /// Adds or replaces an instance.
    mutating func put(_ row: InstanceRow) {
        let old = rows.updateValue(row, forKey: row.id)
        if old != nil { encodedRecords.removeValue(forKey: row.id) }
        if old == nil {
            // An id removed and put again (rare) must not be listed at its old place too.
            if removedSinceCompaction.remove(row.id) != nil { order.removeAll { $0.id == row.id } }
            lastSequence += 1
            order.append((lastSequence, row.id))
        }
        if let old {
            if Self.isQueued(old) { queued.remove(old.id) }
            if NodeOccupancy.occupies(old), let node = old.nodeId {
                occupancy[node]?.remove(old)
                changedNodes.insert(node)
            }
        }
        if Self.isQueued(row) { queued.insert(row.id) }
        if NodeOccupancy.occupies(row), let node = row.nodeId {
            occupancy[node, default: NodeOccupancy()].add(row)
            changedNodes.insert(node)
        }
        if let node = old?.nodeId, occupancy[node]?.isEmpty == true { occupancy.removeValue(forKey: node) }
    }

    /// The nodes whose occupancy changed since the last call; the record starts afresh.
    mutating func takeChangedNodes() -> Set<String> {
        defer { changedNodes = [] }
        return changedNodes
    }

    mutating func remove(_ id: String) {
        guard let old = rows.removeValue(forKey: id) else { return }
        queued.remove(id)
        encodedRecords.removeValue(forKey: id)
        if NodeOccupancy.occupies(old), let node = old.nodeId {
            occupancy[node]?.remove(old)
            if occupancy[node]?.isEmpty == true { occupancy.removeValue(forKey: node) }
            changedNodes.insert(node)
        }
        removedSinceCompaction.insert(id)
        if removedSinceCompaction.count > 1024 && removedSinceCompaction.count > order.count / 4 {
            order.removeAll { rows[$0.id] == nil }
            removedSinceCompaction = []
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

    /// A page of a listing stays under this many bytes of instance records (the frame cap is
    /// 4 MiB), unless one record alone is larger.
    static let pageBudget = 1 << 20

    static func isQueued(_ row: InstanceRow) -> Bool {
        row.state == "Scheduling" && row.nodeId == nil
    }
}
