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

    /// Sets what the view holds for one node: `nil` removes it.
    mutating func update(_ id: String, to node: SchedulerNode?) {
        if let node {
            if let i = index[id] {
                nodes[i] = node
            } else {
                index[id] = nodes.count
                nodes.append(node)
            }
        } else if let i = index.removeValue(forKey: id) {
            let last = nodes.removeLast()
            if i < nodes.count {
                nodes[i] = last
                index[last.id] = i
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
        let decision = scheduler.schedule(queue: queue, nodes: &nodes, index: index)
        for placement in decision.placements { occupied.insert(placement.nodeID) }
        return decision
    }

    /// The nodes occupied by passes since the last call; the record starts afresh.
    mutating func takeOccupied() -> Set<String> {
        defer { occupied = [] }
        return occupied
    }
}
