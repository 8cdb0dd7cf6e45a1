/// The scheduler's view of every node, kept between scheduling passes.
///
/// A pass used to build a ``SchedulerNode`` for every node (copying its row, looking up its
/// link, occupancy, groups and templates) and an index of them all: work in proportion to
/// the fleet on every pass, however little had changed. The view keeps both, and a pass
/// rebuilds only the nodes whose inputs changed since the last one (``update(_:to:)``).
struct SchedulingView {
    /// Every schedulable node, in no particular order (the scheduler breaks ties by id).
    private(set) var nodes: [SchedulerNode] = []
    /// Node id → position in ``nodes``.
    private(set) var index: [String: Int] = [:]
    /// Set until the first rebuild: every node must be built, not just the changed ones.
    private(set) var isEmpty = true

    /// The scheduler's candidate heaps, kept with the nodes and told of every change.
    private var pools = CandidatePools()

    /// Sets what the view holds for one node: `nil` removes it.
    mutating func update(_ id: String, to node: SchedulerNode?) {
        if let node {
            if let i = index[id] {
                nodes[i] = node
                pools.nodeChanged(at: i, nodes: nodes)
            } else {
                index[id] = nodes.count
                nodes.append(node)
                pools.nodeChanged(at: nodes.count - 1, nodes: nodes)
            }
        } else if let i = index.removeValue(forKey: id) {
            let last = nodes.removeLast()
            pools.truncate(to: nodes.count)
            if i < nodes.count {
                nodes[i] = last
                index[last.id] = i
                pools.nodeChanged(at: i, nodes: nodes)
            }
        }
    }

    /// Nodes a pass occupied in place: rebuilt from the truth by the next refresh whether or
    /// not their placements were kept.
    private(set) var occupied: Set<String> = []

    /// Marks the view as built for every node.
    mutating func markFilled() { isEmpty = false }

    /// Runs `scheduler` over the view's nodes in place and remembers which it occupied.
    mutating func schedule(_ scheduler: Scheduler, queue: [SchedulerRequest]) -> Scheduler.Decision {
        let decision = scheduler.schedule(queue: queue, nodes: &nodes, index: index, pools: &pools)
        for placement in decision.placements { occupied.insert(placement.nodeID) }
        return decision
    }

    /// The nodes occupied by passes since the last call; the record starts afresh.
    mutating func takeOccupied() -> Set<String> {
        defer { occupied = [] }
        return occupied
    }
}
