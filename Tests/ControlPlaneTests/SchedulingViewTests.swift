import Testing

@testable import ControlPlane

/// The view keeps its nodes and their index in step through adds, replacements and
/// removals (a removal moves the last node into the gap).
@Suite struct SchedulingViewTests {
    @Test func theIndexFollowsAddsReplacementsAndRemovals() {
        var view = SchedulingView()
        for id in ["a", "b", "c", "d"] { view.update(id, to: SchedulerNode(id: id)) }
        view.update("b", to: nil)
        view.update("c", to: SchedulerNode(id: "c", maxVMCount: 7))
        view.update("zz", to: nil)  // not there: nothing happens
        view.update("a", to: nil)
        view.update("e", to: SchedulerNode(id: "e"))
        #expect(Set(view.nodes.map(\.id)) == ["c", "d", "e"])
        #expect(view.index.count == 3)
        for (position, node) in view.nodes.enumerated() { #expect(view.index[node.id] == position) }
        #expect(view.nodes[view.index["c"]!].maxVMCount == 7)
        view.update("c", to: nil)
        view.update("d", to: nil)
        view.update("e", to: nil)
        #expect(view.nodes.isEmpty && view.index.isEmpty)
    }
}
