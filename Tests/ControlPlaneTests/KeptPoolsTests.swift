import NodeAgent
import Testing

@testable import ControlPlane

/// Candidate pools kept across scheduling passes (`SchedulingView`, `CandidatePools`) must
/// decide exactly as the plain scan does on the same nodes, whatever changed between the
/// passes: capacity freed or taken, nodes drained, deactivated, regrouped, added, removed.
@Suite struct KeptPoolsTests {
    @Test func keptPoolsDecideAsTheExhaustiveScanAcrossPasses() {
        var rng = SplitMix64(seed: 20_261_205)
        let scheduler = Scheduler()
        let exhaustive = Scheduler(exhaustive: true)
        func roll(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        func pick<T>(_ options: [T]) -> T { options[roll(options.count)] }
        func node(_ id: String) -> SchedulerNode {
            let resource = roll(4) == 0
            var node = SchedulerNode(
                id: id,
                arch: pick(["", "amd64", "arm64"]),
                isActive: roll(8) != 0,
                drainMode: roll(10) == 0,
                maxVMCount: roll(5),
                running: roll(3),
                templates: Set(["t1", "t2"].filter { _ in roll(2) == 0 }),
                groups: Set(["g1", "g2"].filter { _ in roll(3) == 0 }),
                resourceCapacity: resource,
                vcpuCapacity: resource ? roll(16) : 0,
                ramCapacityMB: resource ? roll(8) * 4096 : 0,
                usbFree: roll(5) == 0 ? ["iphone": roll(2)] : [:]
            )
            node.versions = Set(node.templates.filter { _ in roll(2) == 0 }.map {
                SchedulerNode.versionKey(templateID: $0, tag: "v1")
            })
            return node
        }
        var mismatches = 0
        for round in 0..<80 {
            var view = SchedulingView()
            var truth: [String: SchedulerNode] = [:]
            var nextID = 0
            func add() {
                let id = "n\(nextID)"
                nextID += 1
                truth[id] = node(id)
                view.update(id, to: truth[id])
            }
            for _ in 0..<roll(30) { add() }
            for pass in 0..<10 {
                // Changes between passes, each told to the view as the fleet's refresh does.
                for _ in 0..<roll(6) {
                    let ids = truth.keys.sorted()
                    switch roll(8) {
                    case 0: add()
                    case 1 where !ids.isEmpty:
                        let id = pick(ids)
                        truth[id] = nil
                        view.update(id, to: nil)
                    case _ where !ids.isEmpty:
                        let id = pick(ids)
                        var changed = truth[id]!
                        switch roll(5) {
                        case 0: changed.running = max(0, changed.running - 1 - roll(2))  // freed
                        case 1: changed.drainMode.toggle()
                        case 2: changed.isActive.toggle()
                        case 3: changed.groups = Set(["g1", "g2"].filter { _ in roll(2) == 0 })
                        default: changed.maxVMCount = roll(6)
                        }
                        truth[id] = changed
                        view.update(id, to: changed)
                    default: add()
                    }
                }
                let ids = truth.keys.sorted()
                let allowed = Set(ids.filter { _ in roll(2) == 0 })
                let queue = (0..<roll(25)).map { i -> SchedulerRequest in
                    let team = roll(4) == 0
                    var request = SchedulerRequest(
                        instanceID: "p\(pass)-i\(i)",
                        priority: pick([1, 1000]),
                        createdMicros: Int64(roll(50)),
                        templateID: pick(["t1", "t2"]),
                        arch: pick(["", "", "amd64"]),
                        vcpu: pick([1, 2, 4]),
                        ramMB: pick([2048, 4096]),
                        usbDevice: roll(10) == 0 ? "iphone" : "",
                        targetNodeID: roll(12) == 0 && !ids.isEmpty ? pick(ids) : "",
                        groupChain: pick([[], [], [SchedulerGroup(id: "g1", name: "one")]]),
                        permissionGroup: team ? "team" : "",
                        allowedNodes: team ? allowed : nil
                    )
                    request.tag = pick(["", "v1"])
                    return request
                }
                let expected = exhaustive.schedule(queue: queue, nodes: view.nodes)
                let decided = view.schedule(scheduler, queue: queue)
                if decided != expected {
                    mismatches += 1
                    Issue.record("round \(round), pass \(pass): \(decided.placements) vs \(expected.placements)")
                }
                // The placements happened: the truth takes them, and the view is rebuilt
                // for the nodes the pass occupied, as the next refresh does.
                for placement in expected.placements {
                    let request = queue.first { $0.instanceID == placement.instanceID }!
                    truth[placement.nodeID]?.occupy(vcpu: request.vcpu, ramMB: request.ramMB, usbDevice: request.usbDevice)
                }
                for id in view.takeOccupied() { view.update(id, to: truth[id]) }
                #expect(Set(view.nodes.map(\.id)) == Set(truth.keys))
            }
            if mismatches > 0 { return }
        }
    }
}
