import HeapModule

/// The nodes one kind of request may use, best first.
///
/// Requests of one ``Shape`` (same template, tag, size, architecture, USB device group,
/// permission group and node group) rank nodes the same way, so they share one heap, and
/// placing the next request of that shape costs O(log n) instead of a scan of every node.
/// ``CandidatePools`` keeps the heaps across scheduling passes.
///
/// Each entry carries the stamp its node had when it was scored. Whenever a node changes
/// (it is rebuilt, occupied or moved), its stamp changes and the pool takes a fresh entry
/// for it if it still qualifies (``admit(_:nodes:stamps:)``). So every qualifying node has
/// one current entry, and the others are stale: ``best(nodes:stamps:)`` drops stale tops
/// until the top is current, and a current top beats every other node's true score.
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
    /// Entries held, current and stale.
    var count: Int { heap.count }
    private let request: SchedulerRequest
    /// The node group the pool is limited to, if any.
    private let group: String?
    private let qualifies: @Sendable (SchedulerNode, SchedulerRequest) -> Bool
    private var heap: Heap<Entry>

    /// A pool of the nodes (in `group`, if given) that qualify for `request` now.
    init(
        for request: SchedulerRequest,
        group: String?,
        nodes: [SchedulerNode],
        stamps: [Int],
        qualifies: @escaping @Sendable (SchedulerNode, SchedulerRequest) -> Bool
    ) {
        self.request = request
        self.group = group
        self.qualifies = qualifies
        heap = Heap()
        rebuild(nodes: nodes, stamps: stamps)
    }

    /// Scores every node afresh, dropping every stale entry.
    mutating func rebuild(nodes: [SchedulerNode], stamps: [Int]) {
        var entries: [Entry] = []
        for i in nodes.indices where admits(nodes[i]) {
            entries.append(Self.entry(for: i, nodes: nodes, stamps: stamps, request: request))
        }
        heap = Heap(entries)
    }

    /// Takes node `i`, just changed, back in with its new score if it qualifies.
    mutating func admit(_ i: Int, nodes: [SchedulerNode], stamps: [Int]) {
        if admits(nodes[i]) { heap.insert(Self.entry(for: i, nodes: nodes, stamps: stamps, request: request)) }
    }

    private func admits(_ node: SchedulerNode) -> Bool {
        (group.map { node.groups.contains($0) } ?? true) && qualifies(node, request)
    }

    /// The best node that qualifies now, left in the pool; `nil` when none does.
    mutating func best(nodes: [SchedulerNode], stamps: [Int]) -> Int? {
        while let top = heap.max {
            if top.index < stamps.count, top.stamp == stamps[top.index] { return top.index }
            heap.removeMax()
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
