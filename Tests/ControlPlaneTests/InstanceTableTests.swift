import NodeAgent
import Persistence
import Testing
import WireProtocol

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
                row.usbDeviceId =
                    Bool.random(using: &generator) ? "usb-\(Int.random(in: 0..<3, using: &generator))" : ""
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
            let page = table.page(after: cursor, limit: limit, budget: 40) { ($0.id, cost: 1) }
            #expect(page.elements.count <= min(limit, 40))
            #expect(!page.elements.isEmpty || page.next == 0)
            seen += page.elements
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
        let heavy = table.page(after: 0, limit: 10, budget: 1) { ($0.id, cost: 100) }
        #expect(heavy.elements.count == 1)
        #expect(heavy.next != 0)
    }

    /// Listing pages carry each instance's record as it is now: a kept encoding is dropped
    /// when its instance changes or goes, and a page decodes to exactly the records built
    /// from the rows.
    @Test func recordPagesFollowEveryChange() throws {
        var table = InstanceTable()
        for index in 0..<50 {
            var row = InstanceRow(id: "i\(index)", state: "Started", templateId: "t", crTime: Int64(index))
            row.nodeId = "n\(index % 3)"
            var info = VMInfo()
            info.uuid = "vm\(index)"
            info.status = "running"
            info.ip = "10.0.0.\(index)"
            row.vminfo = info.encodedBytes()
            table.put(row)
        }
        func listed() throws -> [InstanceRecord] {
            var records: [InstanceRecord] = []
            var cursor: UInt64 = 0
            repeat {
                let page = table.recordPage(after: cursor, limit: 7, budget: InstanceTable.pageBudget)
                let list = try InstanceList(
                    bytes: InstanceList(encodedInstances: page.records, next: page.next).encodedBytes()
                )
                records += list.instances
                cursor = list.next
            } while cursor != 0
            return records
        }
        func expected() -> [InstanceRecord] { table.all.map(InstanceRecord.init) }
        #expect(try listed() == expected())
        // Served from kept encodings now; change some rows, remove others, and list again.
        for index in stride(from: 0, to: 50, by: 5) {
            var row = table["i\(index)"]!
            row.state = "Stopped"
            var info = VMInfo()
            info.uuid = "vm\(index)"
            info.status = "stopped"
            row.vminfo = info.encodedBytes()
            table.put(row)
        }
        table.remove("i1")
        table.remove("i49")
        table.put(InstanceRow(id: "i1", state: "Scheduling", templateId: "t2", crTime: 99))
        let again = try listed()
        #expect(again == expected())
        #expect(again.first { $0.instanceID == "i5" }?.state == .stopped)
        #expect(again.last?.instanceID == "i1")
        #expect(again.count == 49)
        // The budget counts the encoded bytes: a budget of one record's size gives one per page.
        let first = table.recordPage(after: 0, limit: 10, budget: 1)
        #expect(first.records.count == 1)
    }
}
