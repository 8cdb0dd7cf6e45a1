/// Every request shape's ``CandidatePool``, kept across scheduling passes, with the stamps
/// that tell a node's current entries from stale ones.
///
/// A pass used to build each shape's heap from every node: work in proportion to the
/// fleet on every pass. Kept, a heap costs a push per pool for each node that changed
/// (``nodeChanged(at:nodes:)``) and a pop per stale entry that reaches its top. A pool is
/// rebuilt from every node only when it is new, when its permission group's allowed nodes
/// changed, or when stale entries outnumber the nodes (so its size stays bounded); pools
/// not used for a while are dropped, so the pushes follow the shapes in use.
struct CandidatePools {
    /// Which pool a request draws from: its shape, within one node group of its chain.
    struct Key: Hashable {
        var shape: CandidatePool.Shape
        var group: String?
    }

    /// Per node position: changes whenever the node at that position does. Stamps are never
    /// reused, so an entry of a node that was removed or moved can never look current.
    private(set) var stamps: [Int] = []
    private var nextStamp = 1
    /// The pools in an array (changed in place: iterating a dictionary while changing its
    /// values would copy every heap), with their positions by key.
    private var pools: [Kept] = []
    private var positions: [Key: Int] = [:]
    private var pass = 0

    private struct Kept {
        var key: Key
        var pool: CandidatePool
        var builtInPass: Int
        var usedInPass: Int
    }
    /// Passes a pool is kept without being used.
    static let idlePasses = 256

    /// Starts a pass over `nodeCount` nodes; drops pools idle for too long.
    mutating func beginPass(nodeCount: Int) {
        pass += 1
        while stamps.count < nodeCount { stamps.append(fresh()) }
        if pass % 64 == 0, pools.contains(where: { pass - $0.usedInPass > Self.idlePasses }) {
            pools.removeAll { pass - $0.usedInPass > Self.idlePasses }
            positions = Dictionary(uniqueKeysWithValues: pools.enumerated().map { ($0.element.key, $0.offset) })
        }
    }

    /// The node at position `i` changed (rebuilt, occupied, or moved there): its old entries
    /// go stale, and each pool takes it back in if it qualifies.
    mutating func nodeChanged(at i: Int, nodes: [SchedulerNode]) {
        while stamps.count <= i { stamps.append(fresh()) }
        stamps[i] = fresh()
        for j in pools.indices {
            pools[j].pool.admit(i, nodes: nodes, stamps: stamps)
            if pools[j].pool.count > 2 * nodes.count + 64 { pools[j].pool.rebuild(nodes: nodes, stamps: stamps) }
        }
    }

    /// The nodes now end at `count` (the last one was removed or moved into a gap).
    mutating func truncate(to count: Int) {
        if stamps.count > count { stamps.removeLast(stamps.count - count) }
    }

    /// The best node for `request` from its pool (`.some(nil)` when no node qualifies),
    /// building the pool on first use; `nil` when another request of this pass used the
    /// pool with other allowed nodes, so the caller must scan instead.
    mutating func best(
        _ key: Key,
        _ request: SchedulerRequest,
        nodes: [SchedulerNode],
        qualifies: @escaping @Sendable (SchedulerNode, SchedulerRequest) -> Bool
    ) -> Int?? {
        if let j = positions[key], pools[j].pool.allowedNodes != request.allowedNodes {
            // Another set of allowed nodes under the same permission group name: within one
            // pass the caller scans; from one pass to the next the grants changed.
            if pools[j].builtInPass == pass { return nil }
            pools[j].pool = CandidatePool(for: request, group: key.group, nodes: nodes, stamps: stamps, qualifies: qualifies)
            pools[j].builtInPass = pass
        }
        let j: Int
        if let known = positions[key] {
            j = known
        } else {
            j = pools.count
            let pool = CandidatePool(for: request, group: key.group, nodes: nodes, stamps: stamps, qualifies: qualifies)
            pools.append(Kept(key: key, pool: pool, builtInPass: pass, usedInPass: pass))
            positions[key] = j
        }
        pools[j].usedInPass = pass
        return .some(pools[j].pool.best(nodes: nodes, stamps: stamps))
    }

    private mutating func fresh() -> Int {
        defer { nextStamp += 1 }
        return nextStamp
    }
}
