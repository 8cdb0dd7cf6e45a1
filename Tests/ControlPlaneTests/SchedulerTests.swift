import ControlPlane
import NodeAgent
import Testing

/// The scheduler is pure: these tests need no sockets and no database.
@Suite struct SchedulerTests {
    let scheduler = Scheduler()

    func request(
        _ id: String,
        priority: Int = 1000,
        at time: Int64 = 0,
        arch: String = "",
        node: String = "",
        template: String = "t"
    ) -> SchedulerRequest {
        SchedulerRequest(
            instanceID: id,
            priority: priority,
            createdMicros: time,
            templateID: template,
            arch: arch,
            targetNodeID: node
        )
    }

    @Test func placesByPriorityThenAge() {
        let decision = scheduler.schedule(
            queue: [
                request("c", priority: 5000, at: 0), request("b", priority: 1, at: 2), request("a", priority: 1, at: 1),
            ],
            nodes: [SchedulerNode(id: "n", maxVMCount: 2)]
        )
        #expect(decision.placements.map(\.instanceID) == ["a", "b"])
        #expect(decision.waiting["c"]?.contains("at capacity") == true)
    }

    @Test func respectsCapacityAcrossNodesAndSpreadsLoad() {
        let decision = scheduler.schedule(
            queue: (0..<5).map { request("i\($0)", at: Int64($0)) },
            nodes: [SchedulerNode(id: "a", maxVMCount: 2, running: 1), SchedulerNode(id: "b", maxVMCount: 3)]
        )
        #expect(decision.placements.count == 4)
        #expect(decision.placements.filter { $0.nodeID == "a" }.count == 1)
        #expect(decision.placements.filter { $0.nodeID == "b" }.count == 3)
        #expect(decision.placements.first?.nodeID == "b")
        #expect(decision.waiting.keys.sorted() == ["i4"])
    }

    @Test func skipsInactiveAndDrainingNodesAndSaysSo() {
        let decision = scheduler.schedule(
            queue: [request("i")],
            nodes: [SchedulerNode(id: "off", isActive: false), SchedulerNode(id: "drain", drainMode: true)]
        )
        #expect(decision.placements.isEmpty)
        #expect(decision.waiting["i"] == "waiting for capacity: 1 in drain mode, 1 offline")
    }

    @Test func explainsAnEmptyOrOfflineFleet() {
        #expect(
            scheduler.schedule(queue: [request("i")], nodes: []).waiting["i"] == "no node has joined the controller"
        )
        #expect(
            scheduler.schedule(queue: [request("i")], nodes: [SchedulerNode(id: "n", isActive: false)]).waiting["i"]
                == "no active node (1 offline)"
        )
    }

    @Test func matchesArchitecture() {
        let nodes = [SchedulerNode(id: "x86", arch: "amd64"), SchedulerNode(id: "mac", arch: "arm64")]
        let decision = scheduler.schedule(
            queue: [request("arm", arch: "arm64"), request("intel", arch: "amd64")],
            nodes: nodes
        )
        #expect(
            Dictionary(uniqueKeysWithValues: decision.placements.map { ($0.instanceID, $0.nodeID) }) == [
                "arm": "mac", "intel": "x86",
            ]
        )
        let none = scheduler.schedule(
            queue: [request("arm", arch: "arm64")],
            nodes: [SchedulerNode(id: "x86", arch: "amd64")]
        )
        #expect(none.waiting["arm"] == "no active arm64 node")
    }

    @Test func honoursNodeTargetingWithAReason() {
        let nodes = [SchedulerNode(id: "a", name: "mini-a", maxVMCount: 1, running: 1), SchedulerNode(id: "b")]
        let decision = scheduler.schedule(queue: [request("i", node: "a"), request("j", node: "zz")], nodes: nodes)
        #expect(decision.placements.isEmpty)
        #expect(decision.waiting["i"] == "requested node mini-a (a) is at capacity (1/1 VMs)")
        #expect(decision.waiting["j"] == "requested node zz is not known to the controller")
        #expect(scheduler.schedule(queue: [request("k", node: "b")], nodes: nodes).placements.map(\.nodeID) == ["b"])
    }

    @Test func prefersANodeThatHoldsTheTemplate() {
        let nodes = [
            SchedulerNode(id: "empty", maxVMCount: 4), SchedulerNode(id: "cached", maxVMCount: 2, templates: ["t"]),
        ]
        #expect(scheduler.schedule(queue: [request("i")], nodes: nodes).placements.map(\.nodeID) == ["cached"])
    }

    @Test func prefersANodeThatHoldsTheExactTag() {
        var older = SchedulerNode(id: "older", maxVMCount: 4, templates: ["t"])
        older.versions = [SchedulerNode.versionKey(templateID: "t", tag: "v1")]
        var exact = SchedulerNode(id: "exact", maxVMCount: 2, templates: ["t"])
        exact.versions = [SchedulerNode.versionKey(templateID: "t", tag: "v2")]
        var wantsV2 = request("i")
        wantsV2.tag = "v2"
        #expect(scheduler.schedule(queue: [wantsV2], nodes: [older, exact]).placements.map(\.nodeID) == ["exact"])
        var wantsV1 = request("j")
        wantsV1.tag = "v1"
        #expect(scheduler.schedule(queue: [wantsV1], nodes: [older, exact]).placements.map(\.nodeID) == ["older"])
    }

    @Test func aTargetedRequestDoesNotBlockOthers() {
        let nodes = [SchedulerNode(id: "a", maxVMCount: 1, running: 1), SchedulerNode(id: "b", maxVMCount: 1)]
        let decision = scheduler.schedule(
            queue: [request("first", priority: 1, node: "a"), request("second", priority: 2)],
            nodes: nodes
        )
        #expect(decision.placements.map(\.instanceID) == ["second"])
    }
}

extension SchedulerTests {
    @Test func aFullGroupSpillsIntoItsFallback() {
        let ios = SchedulerGroup(id: "g-ios", name: "iOS")
        let spare = SchedulerGroup(id: "g-spare", name: "spare")
        let nodes = [
            SchedulerNode(id: "a", maxVMCount: 1, groups: ["g-ios"]),
            SchedulerNode(id: "b", maxVMCount: 1, groups: ["g-spare"]),
            SchedulerNode(id: "outside", maxVMCount: 5),
        ]
        let decision = scheduler.schedule(
            queue: (0..<3).map { request("i\($0)", at: Int64($0)) }.map {
                var r = $0
                r.groupChain = [ios, spare]
                return r
            },
            nodes: nodes
        )
        #expect(decision.placements.map(\.nodeID) == ["a", "b"])
        #expect(decision.waiting["i2"] == "waiting for capacity in groups iOS → spare: 2 at capacity")
    }

    @Test func aGroupWithoutNodesSaysSo() {
        var r = request("i")
        r.groupChain = [SchedulerGroup(id: "g", name: "empty")]
        #expect(
            scheduler.schedule(queue: [r], nodes: [SchedulerNode(id: "n")]).waiting["i"] == "group empty has no nodes"
        )
    }

    @Test func resourceCapacityCountsVCPUAndRAMNotVMs() {
        // 8 vCPU / 16 GB; VMs of 4 vCPU / 4 GB: two fit, the third waits though the VM count is low.
        let node = SchedulerNode(
            id: "big",
            maxVMCount: 10,
            resourceCapacity: true,
            vcpuCapacity: 8,
            ramCapacityMB: 16_384
        )
        let queue = (1...3).map {
            SchedulerRequest(instanceID: "i\($0)", createdMicros: Int64($0), vcpu: 4, ramMB: 4096)
        }
        let decision = scheduler.schedule(queue: queue, nodes: [node])
        #expect(decision.placements.map(\.instanceID) == ["i1", "i2"])
        #expect(decision.waiting["i3"] == "waiting for capacity: 1 at capacity")

        // RAM binds too: 2 vCPU VMs of 12 GB, only one fits in 16 GB.
        let heavy = (1...2).map {
            SchedulerRequest(instanceID: "h\($0)", createdMicros: Int64($0), vcpu: 2, ramMB: 12_288)
        }
        #expect(scheduler.schedule(queue: heavy, nodes: [node]).placements.count == 1)

        // A small VM still fits beside a big one where a number-mode node of the same count would be full.
        var partly = node
        partly.running = 1
        partly.usedVCPU = 6
        partly.usedRAMMB = 8192
        let small = SchedulerRequest(instanceID: "s", createdMicros: 0, vcpu: 2, ramMB: 2048)
        let large = SchedulerRequest(instanceID: "l", createdMicros: 1, vcpu: 4, ramMB: 2048, targetNodeID: "big")
        let mixed = scheduler.schedule(queue: [small, large], nodes: [partly])
        #expect(mixed.placements.map(\.instanceID) == ["s"])
        #expect(
            mixed.waiting["l"] == "requested node big is at capacity (8/8 vCPU, 10240/16384 MB; needs 4 vCPU, 2048 MB)"
        )
    }

    @Test func numberAndResourceNodesMixAndTheEmptierOneWins() {
        let count = SchedulerNode(id: "count", maxVMCount: 1)
        let resource = SchedulerNode(
            id: "res",
            maxVMCount: 1,
            resourceCapacity: true,
            vcpuCapacity: 16,
            ramCapacityMB: 65_536
        )
        let queue = (1...3).map {
            SchedulerRequest(instanceID: "i\($0)", createdMicros: Int64($0), vcpu: 2, ramMB: 4096)
        }
        let decision = scheduler.schedule(queue: queue, nodes: [count, resource])
        // The resource node ignores its VM count; the number node takes one.
        #expect(decision.placements.count == 3)
        #expect(decision.placements.filter { $0.nodeID == "count" }.count == 1)
    }

    @Test func aUSBDeviceIsClaimedOncePerDeviceAndExplainedWhenMissing() {
        let phones = SchedulerNode(id: "phones", maxVMCount: 4, usbFree: ["iphone": 1])
        let plain = SchedulerNode(id: "plain", maxVMCount: 4)
        let queue = (1...2).map {
            SchedulerRequest(instanceID: "i\($0)", createdMicros: Int64($0), usbDevice: "iphone")
        }
        let decision = scheduler.schedule(queue: queue, nodes: [plain, phones])
        #expect(decision.placements.map(\.nodeID) == ["phones"])
        #expect(decision.waiting["i2"] == "every USB device iphone is busy")
        let tablet = SchedulerRequest(instanceID: "t", createdMicros: 0, usbDevice: "tablet")
        #expect(
            scheduler.schedule(queue: [tablet], nodes: [plain, phones]).waiting["t"]
                == "no active node has a USB device tablet"
        )
    }

    /// The pooled scheduler decides exactly as the plain scan does: the same placements in
    /// the same order and the same reasons, over random fleets and queues that mix every
    /// kind of constraint (and fill nodes up, so pools go stale and reasons repeat).
    @Test func poolsDecideExactlyAsTheExhaustiveScan() {
        var rng = SplitMix64(seed: 20_261_203)
        let exhaustive = Scheduler(exhaustive: true)
        func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
        for round in 0..<400 {
            let nodeCount = Int(rng.next() % 40)
            let templates = ["t1", "t2", "t3"]
            let nodes = (0..<nodeCount).map { n -> SchedulerNode in
                let resource = rng.next() % 4 == 0
                var node = SchedulerNode(
                    id: "n\(n)",
                    arch: pick(["", "amd64", "arm64"]),
                    isActive: rng.next() % 8 != 0,
                    drainMode: rng.next() % 10 == 0,
                    maxVMCount: Int(rng.next() % 5),
                    running: Int(rng.next() % 3),
                    templates: Set(templates.filter { _ in rng.next() % 2 == 0 }),
                    groups: Set(["g1", "g2"].filter { _ in rng.next() % 3 == 0 }),
                    resourceCapacity: resource,
                    vcpuCapacity: resource ? Int(rng.next() % 16) : 0,
                    ramCapacityMB: resource ? Int(rng.next() % 8) * 4096 : 0,
                    usbFree: rng.next() % 5 == 0 ? ["iphone": Int(rng.next() % 2)] : [:]
                )
                node.versions = Set(
                    node.templates.filter { _ in rng.next() % 2 == 0 }.map {
                        SchedulerNode.versionKey(templateID: $0, tag: "v1")
                    }
                )
                return node
            }
            let ids = nodes.map(\.id)
            let allowed: [String: Set<String>] = [
                "team": Set(ids.filter { _ in rng.next() % 2 == 0 }),
                "other": Set(ids.filter { _ in rng.next() % 2 == 0 }),
            ]
            let chains: [[SchedulerGroup]] = [
                [], [], [SchedulerGroup(id: "g1", name: "one")],
                [SchedulerGroup(id: "g2", name: "two"), SchedulerGroup(id: "g1", name: "one")],
            ]
            let queue = (0..<Int(rng.next() % 120)).map { i -> SchedulerRequest in
                let group = pick(["", "", "team", "other"])
                var request = SchedulerRequest(
                    instanceID: "i\(i)",
                    priority: pick([1, 1000, 1000, 5000]),
                    createdMicros: Int64(rng.next() % 50),
                    templateID: pick(templates),
                    arch: pick(["", "", "amd64", "arm64"]),
                    vcpu: pick([1, 2, 4]),
                    ramMB: pick([2048, 4096, 8192]),
                    usbDevice: rng.next() % 10 == 0 ? "iphone" : "",
                    targetNodeID: rng.next() % 12 == 0 && nodeCount > 0 ? pick(ids + ["gone"]) : "",
                    groupChain: pick(chains),
                    permissionGroup: group,
                    // Now and then a set of allowed nodes that differs under the same name.
                    allowedNodes: group.isEmpty ? nil : rng.next() % 10 == 0 ? Set(ids.prefix(2)) : allowed[group]
                )
                request.tag = pick(["", "v1"])
                return request
            }
            let pooled = scheduler.schedule(queue: queue, nodes: nodes)
            let plain = exhaustive.schedule(queue: queue, nodes: nodes)
            #expect(pooled == plain, "round \(round)")
            if pooled != plain { return }
        }
    }
}
