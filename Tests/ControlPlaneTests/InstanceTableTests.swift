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
}
