import HeapModule

/// The nodes one kind of request may use, best first, for one scheduling pass.
///
/// Requests of one ``Shape`` (same template, tag, size, architecture, USB device group,
/// permission group and node group) rank nodes the same way. A pass keeps one pool per
/// shape, so placing the next request of that shape costs O(log n) instead of a scan of
/// every node.
///
/// Within a pass nodes only fill up: a placement lowers a node's headroom and can take
/// its room or its last free USB device away, never give them back. So a score kept in
/// the heap is never below the node's true score. ``best(nodes:stamps:)`` refreshes a
/// stale top (its node was occupied since it was scored) and pushes it back if the node
/// still qualifies, until the top is current; a current top then beats every other node's
/// true score.
struct CandidatePool {
    /// What makes two requests rank nodes alike.
    struct Shape: Hashable {
        var templateID: String
        var tag: String
        var arch: String
        var vcpu: Int
        var ramMB: Int
        var usbDevice: String
        var permissionGroup: String
        var groupChain: [String]

        init(_ request: SchedulerRequest) {
            templateID = request.templateID
            tag = request.tag
            arch = request.arch
            vcpu = request.vcpu
            ramMB = request.ramMB
            usbDevice = request.usbDevice
            permissionGroup = request.permissionGroup
            groupChain = request.groupChain.flatMap { [$0.id, $0.name] }
        }
    }

    /// A node's rank for this shape, as ``Scheduler`` orders nodes: the exact version, then
    /// the template, then the most headroom, then the lowest id.
    struct Entry: Comparable {
        var holdsVersion: Bool
        var holdsTemplate: Bool
        var headroom: Double
        var id: String
        var index: Int
        var stamp: Int

        static func < (a: Entry, b: Entry) -> Bool {
            if a.holdsVersion != b.holdsVersion { return !a.holdsVersion }
            if a.holdsTemplate != b.holdsTemplate { return !a.holdsTemplate }
            if a.headroom != b.headroom { return a.headroom < b.headroom }
            return a.id > b.id
        }
    }

    /// The allowed nodes the pool was built for; a request with other ones cannot use it.
    var allowedNodes: Set<String>? { request.allowedNodes }
    private let request: SchedulerRequest
    private let qualifies: (SchedulerNode, SchedulerRequest) -> Bool
    private var heap: Heap<Entry>

    /// A pool of the nodes among `candidates` that qualify for `request` now.
    init(
        for request: SchedulerRequest,
        candidates: some Sequence<Int>,
        nodes: [SchedulerNode],
        stamps: [Int],
        qualifies: @escaping (SchedulerNode, SchedulerRequest) -> Bool
    ) {
        self.request = request
        self.qualifies = qualifies
        var entries: [Entry] = []
        for i in candidates where qualifies(nodes[i], request) {
            entries.append(Self.entry(for: i, nodes: nodes, stamps: stamps, request: request))
        }
        heap = Heap(entries)
    }

    /// The best node that qualifies now, left in the pool; `nil` when none does.
    mutating func best(nodes: [SchedulerNode], stamps: [Int]) -> Int? {
        while let top = heap.max {
            if top.stamp == stamps[top.index] { return top.index }
            heap.removeMax()
            if qualifies(nodes[top.index], request) {
                heap.insert(Self.entry(for: top.index, nodes: nodes, stamps: stamps, request: request))
            }
        }
        return nil
    }

    private static func entry(for i: Int, nodes: [SchedulerNode], stamps: [Int], request: SchedulerRequest) -> Entry {
        let node = nodes[i]
        let version =
            !request.tag.isEmpty
            && node.versions.contains(SchedulerNode.versionKey(templateID: request.templateID, tag: request.tag))
        return Entry(
            holdsVersion: version,
            holdsTemplate: node.templates.contains(request.templateID),
            headroom: node.headroom,
            id: node.id,
            index: i,
            stamp: stamps[i]
        )
    }
}
