import NodeAgent
import Persistence
import Testing

@testable import ControlPlane

/// The scheduler's indexes (queue, per-node occupancy) are kept up to date change by
/// change; they must always equal what a full recount of every instance gives.
@Suite struct InstanceTableTests {
    /// The queue and each node's occupancy, counted from scratch.
    static func recount(_ rows: [InstanceRow]) -> (queued: Set<String>, occupancy: [String: NodeOccupancy]) {
        var occupancy: [String: NodeOccupancy] = [:]
        for row in rows where NodeOccupancy.occupies(row) { occupancy[row.nodeId!, default: NodeOccupancy()].add(row) }
        return (Set(rows.filter(InstanceTable.isQueued).map(\.id)), occupancy)
    }

    @Test func indexesFollowEveryChangeAsARecountWouldFindThem() {
        var generator = SplitMix64(seed: 12)
        var table = InstanceTable()
        let states = ["Scheduling", "Pulling", "Started", "Stopped", "Terminating", "Terminated", "Error"]
        let nodes = ["n1", "n2", "n3", nil]
        var ids: [String] = []
        for step in 0..<5000 {
            let choice = Int.random(in: 0..<10, using: &generator)
            if choice == 0, let id = ids.randomElement(using: &generator) {
                table.remove(id)
                ids.removeAll { $0 == id }
            } else if choice < 4 || ids.isEmpty {
                var row = InstanceRow(id: "i\(step)", state: "Scheduling", templateId: "t", crTime: Int64(step))
                row.vcpu = Int.random(in: 1...8, using: &generator)
                row.vramMb = Int.random(in: 512...8192, using: &generator)
                table.put(row)
                ids.append(row.id)
            } else {
                var row = table[ids.randomElement(using: &generator)!]!
                row.state = states.randomElement(using: &generator)!
                row.nodeId = nodes.randomElement(using: &generator)!
                row.usbDeviceId = Bool.random(using: &generator) ? "usb-\(Int.random(in: 0..<3, using: &generator))" : ""
                table.put(row)
            }
            if step % 97 == 0 || step == 4999 {
                let expected = Self.recount(table.all)
                #expect(table.queued == expected.queued, "step \(step)")
                let wrong = Set(table.occupancy.keys).union(expected.occupancy.keys).filter {
                    table.occupancy[$0] != expected.occupancy[$0]
                }
                #expect(wrong.isEmpty, "step \(step): nodes \(wrong.sorted())")
                #expect(table.all.count == table.count)
            }
        }
        #expect(table.all.map(\.crTime) == table.all.map(\.crTime).sorted())
    }

    /// Paging by cursor visits every instance once, in creation order, across removals
    /// (including compaction of the order) and additions between pages.
    @Test func pagesVisitEveryInstanceOnceInOrderAcrossChanges() {
        var generator = SplitMix64(seed: 99)
        var table = InstanceTable()
        var live: [String] = []
        for step in 0..<3000 {
            table.put(InstanceRow(id: "i\(step)", state: "Scheduling", templateId: "t", crTime: Int64(step)))
            live.append("i\(step)")
        }
        for id in live where Bool.random(using: &generator) { table.remove(id) }
        live.removeAll { table[$0] == nil }
        var seen: [String] = []
        var cursor: UInt64 = 0
        var pages = 0
        repeat {
            let limit = Int.random(in: 1...200, using: &generator)
            let page = table.page(after: cursor, limit: limit, budget: 40) { _ in 1 }
            #expect(page.rows.count <= min(limit, 40))
            #expect(!page.rows.isEmpty || page.next == 0)
            seen += page.rows.map(\.id)
            cursor = page.next
            pages += 1
            // Between pages: something new (at the end), and something already seen goes.
            if pages % 3 == 0 {
                let id = "late\(pages)"
                table.put(InstanceRow(id: id, state: "Scheduling", templateId: "t", crTime: 9999))
                live.append(id)
            }
            if let gone = seen.randomElement(using: &generator) { table.remove(gone) }
        } while cursor != 0 && pages < 10_000
        #expect(seen == live)
        // A page never comes back empty while rows remain, even when one row alone is over the budget.
        let heavy = table.page(after: 0, limit: 10, budget: 1) { _ in 100 }
        #expect(heavy.rows.count == 1)
        #expect(heavy.next != 0)
    }
}
