import Persistence
import Testing
import WireProtocol

@testable import ControlPlane

/// Scheduling passes reuse each node's decoded template set until the node reports a new one.
@Suite struct HeldTemplatesCacheTests {
    static func node(_ id: String, holding references: [TemplateRef]) -> NodeRow {
        var row = NodeRow(id: id, name: id, createdAt: 0)
        row.templates = TemplateSet(references).encodedBytes()
        return row
    }

    @Test func aNewSetIsDecodedAndAnUnchangedOneReused() {
        var cache = HeldTemplatesCache()
        var node = Self.node("n1", holding: [TemplateRef(templateID: "t1", tag: "base")])
        #expect(cache.held(by: node).templates == ["t1"])
        #expect(cache.held(by: node).versions == [SchedulerNode.versionKey(templateID: "t1", tag: "base")])
        // The node reports a pull: the next pass sees it.
        node.templates = TemplateSet([
            TemplateRef(templateID: "t1", tag: "base"), TemplateRef(templateID: "t2", tag: "ci"),
        ])
        .encodedBytes()
        #expect(cache.held(by: node).templates == ["t1", "t2"])
        // It evicts everything: an empty set, and no bytes at all.
        node.templates = TemplateSet([]).encodedBytes()
        #expect(cache.held(by: node).templates.isEmpty)
        node.templates = nil
        #expect(cache.held(by: node).versions.isEmpty)
    }

    @Test func nodesThatLeftAreForgotten() {
        var cache = HeldTemplatesCache()
        let kept = Self.node("kept", holding: [TemplateRef(templateID: "t1", tag: "a")])
        var gone = Self.node("gone", holding: [TemplateRef(templateID: "t9", tag: "a")])
        _ = cache.held(by: kept)
        _ = cache.held(by: gone)
        #expect(cache.count == 2)
        cache.forget("gone")
        #expect(cache.count == 1)
        // A node that comes back under the same id with other bytes is decoded afresh.
        gone.templates = TemplateSet([TemplateRef(templateID: "t3", tag: "a")]).encodedBytes()
        #expect(cache.held(by: gone).templates == ["t3"])
        #expect(cache.held(by: kept).templates == ["t1"])
    }
}
