import Persistence

/// The templates and versions each node holds, decoded once per change of the node's
/// stored set rather than on every scheduling pass.
///
/// A pass used to decode every node's `templates` bytes and build two sets from them:
/// with 1,000 nodes and 100 passes a second, that was most of a pass. A node's bytes
/// change only when it reports its cache; until then the pass reuses what it decoded.
/// Comparing the bytes is cheap: an unchanged row still holds the very array the cache
/// was filled from, which `==` recognises without reading it.
struct HeldTemplatesCache {
    struct Held {
        var bytes: [UInt8]?
        var templates: Set<String>
        var versions: Set<String>
    }

    private var entries: [String: Held] = [:]

    /// How many nodes' sets are kept.
    var count: Int { entries.count }

    /// What `node` holds, decoded now only if its set changed since the last call.
    mutating func held(by node: NodeRow) -> Held {
        if let cached = entries[node.id], cached.bytes == node.templates { return cached }
        let references = TemplateSet(bytes: node.templates).templates
        let held = Held(
            bytes: node.templates,
            templates: Set(references.map(\.templateID)),
            versions: Set(references.map { SchedulerNode.versionKey(templateID: $0.templateID, tag: $0.tag) })
        )
        entries[node.id] = held
        return held
    }

    /// Forgets a node that no longer exists.
    mutating func forget(_ nodeID: String) { entries.removeValue(forKey: nodeID) }
}
