/// A dictionary keyed by node id that remembers which ids changed since the last
/// ``takeChanged()``, so a reader that keeps something derived per node (the scheduling
/// pass's ``SchedulingView``) redoes only the nodes that changed.
///
/// Every way of changing an entry goes through the subscript's `_modify` or
/// ``removeValue(forKey:)``, both of which record the id; a change cannot go unseen.
struct NodeKeyedTable<Value>: Sequence {
    private(set) var all: [String: Value] = [:]
    private var changed: Set<String> = []

    init() {}

    subscript(id: String) -> Value? {
        get { all[id] }
        _modify {
            changed.insert(id)
            yield &all[id]
        }
    }

    @discardableResult
    mutating func removeValue(forKey id: String) -> Value? {
        changed.insert(id)
        return all.removeValue(forKey: id)
    }

    /// The ids changed since the last call; the record starts afresh.
    mutating func takeChanged() -> Set<String> {
        defer { changed = [] }
        return changed
    }

    var keys: Dictionary<String, Value>.Keys { all.keys }
    var values: Dictionary<String, Value>.Values { all.values }
    var count: Int { all.count }
    var isEmpty: Bool { all.isEmpty }
    func makeIterator() -> Dictionary<String, Value>.Iterator { all.makeIterator() }
}
