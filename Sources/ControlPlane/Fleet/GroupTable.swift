import Persistence

/// Node groups and which nodes belong to them, in memory (loaded at start), so a
/// scheduling pass, a node listing or a distribution reads them without a storage round
/// trip. Changes are made here first and journaled (``StoredChange/group(_:)`` and the
/// others) in the same step.
struct GroupTable {
    private(set) var groups: [String: NodeGroupRow] = [:]
    /// Per node: the ids of the groups it belongs to.
    private(set) var memberships: [String: Set<String>] = [:]
    /// Nodes whose memberships changed since the last ``takeChangedNodes()``.
    private var changedNodes: Set<String> = []

    init(groups: [NodeGroupRow] = [], memberships: [String: Set<String>] = [:]) {
        for group in groups { self.groups[group.id] = group }
        self.memberships = memberships
        changedNodes = Set(memberships.keys)
    }

    subscript(id: String) -> NodeGroupRow? { groups[id] }

    /// Every group, by name.
    var sorted: [NodeGroupRow] { groups.values.sorted { ($0.name, $0.id) < ($1.name, $1.id) } }

    /// The group other than `id` that has this name.
    func named(_ name: String, other id: String) -> NodeGroupRow? {
        groups.values.first { $0.name == name && $0.id != id }
    }

    mutating func put(_ group: NodeGroupRow) { groups[group.id] = group }

    /// Removes a group as storage's cascades do: memberships go, fallbacks to it clear.
    /// Returns the groups whose fallback was cleared.
    @discardableResult
    mutating func remove(_ id: String) -> [NodeGroupRow] {
        groups.removeValue(forKey: id)
        for node in memberships.keys where memberships[node]?.contains(id) == true {
            changedNodes.insert(node)
            memberships[node]?.remove(id)
            if memberships[node]?.isEmpty == true { memberships.removeValue(forKey: node) }
        }
        var cleared: [NodeGroupRow] = []
        for var group in groups.values where group.fallbackGroupId == id {
            group.fallbackGroupId = nil
            groups[group.id] = group
            cleared.append(group)
        }
        return cleared
    }

    mutating func setMembership(nodeIDs: [String], groupIDs: [String], member: Bool) {
        for node in nodeIDs {
            changedNodes.insert(node)
            if member {
                memberships[node, default: []].formUnion(groupIDs)
            } else {
                memberships[node]?.subtract(groupIDs)
                if memberships[node]?.isEmpty == true { memberships.removeValue(forKey: node) }
            }
        }
    }

    /// A deleted node leaves every group.
    mutating func removeNode(_ nodeID: String) {
        changedNodes.insert(nodeID)
        memberships.removeValue(forKey: nodeID)
    }

    /// The nodes whose memberships changed since the last call; the record starts afresh.
    mutating func takeChangedNodes() -> Set<String> {
        defer { changedNodes = [] }
        return changedNodes
    }
}
