import Benchmark
import Foundation
import Persistence
import Synchronization

/// Issue 12's P4 from storage's side: what the fleet's writes for 1,000 starts cost in a
/// real SQLite file (WAL, `synchronous = FULL`, so each transaction is an fsync).
///
/// A start is written three times: created (``BerthDatabase/insertInstanceGroups(_:drawMACs:)``,
/// one savepoint per request), placed (a scheduling pass's journal batch: the row, its
/// transition and the node's start command) and `Started` (the node's event: the row, its
/// transition, the node's event key and the command's acknowledgement). The event log
/// records each of those three states too, in its own batches. Each benchmark
/// writes 1,000 instances in the batches the fleet makes when 100 POSTs of 10 arrive
/// together; the rows it needs beforehand are written outside the measurement.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        warmupIterations: 2,
        scalingFactor: .one,
        maxDuration: .seconds(10),
        maxIterations: 40
    )

    Benchmark("create 1,000 instances: 100 requests of 10, one transaction") { benchmark in
        let fleet = try await StorageFleet.shared()
        let groups = (0..<100).map { _ in fleet.newInstances(10) }
        benchmark.startMeasurement()
        let results = try await fleet.database.insertInstanceGroups(groups, drawMACs: false)
        benchmark.stopMeasurement()
        blackHole(results)
    }

    Benchmark("place 1,000 instances: one journal batch") { benchmark in
        let fleet = try await StorageFleet.shared()
        let created = try await fleet.created(1000)
        let changes = fleet.placements(of: created)
        benchmark.startMeasurement()
        try await fleet.database.commit(changes)
        benchmark.stopMeasurement()
    }

    Benchmark("1,000 Started events: one journal batch") { benchmark in
        let fleet = try await StorageFleet.shared()
        let placed = try await fleet.placed(1000)
        let changes = fleet.startedEvents(of: placed)
        benchmark.startMeasurement()
        try await fleet.database.commit(changes)
        benchmark.stopMeasurement()
    }

    Benchmark("3,000 instance events to the event log: one batch") { benchmark in
        let fleet = try await StorageFleet.shared()
        let now = BerthDatabase.nowMicros()
        let events = (0..<3000).map { index in
            EventLogRow(
                ts: now,
                kind: ["instance.scheduling", "instance.pulling", "instance.started"][index % 3],
                subject: "00000000-0000-4000-8000-\(String(repeating: "0", count: 8))\(1000 + index / 3)",
                message: "on node node-\(index % 100)"
            )
        }
        benchmark.startMeasurement()
        blackHole(try await fleet.database.appendEvents(events))
        benchmark.stopMeasurement()
    }
}

/// A database with a template and 100 nodes, shared by the benchmarks of one run (each
/// benchmark adds fresh instances, so they never collide).
final class StorageFleet: Sendable {
    let database: BerthDatabase
    let nodeIDs: [String]
    let templateID = "bench-template"
    /// A start command's payload: about what the fleet encodes for a plain start.
    let startPayload = [UInt8](repeating: 0x2A, count: 160)

    private static let instance = Mutex<StorageFleet?>(nil)

    static func shared() async throws -> StorageFleet {
        if let fleet = instance.withLock({ $0 }) { return fleet }
        let fleet = try await StorageFleet()
        instance.withLock { $0 = fleet }
        return fleet
    }

    private init() async throws {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("berth-storage-bench-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        database = try BerthDatabase(path: folder.appendingPathComponent("berth.sqlite").path)
        let now = BerthDatabase.nowMicros()
        try await database.insertTemplate(
            TemplateRow(id: templateID, name: "bench", arch: "arm64", cpuCores: 2, ramMb: 2048, createdAt: now),
            versions: [TemplateVersionRow(templateId: templateID, number: 1, tag: "v1", size: 0, createdAt: now)]
        )
        nodeIDs = (0..<100).map { String(format: "node-%04d", $0) }
        try await database.saveNodes(nodeIDs.map { NodeRow(id: $0, name: $0, createdAt: now) })
    }

    /// New `Scheduling` rows, as `Fleet.startInstances` builds them.
    func newInstances(_ count: Int) -> [InstanceRow] {
        let now = BerthDatabase.nowMicros()
        return (0..<count).map { index in
            var row = InstanceRow(
                id: nextID(),
                state: "Scheduling",
                templateId: templateID,
                crTime: now + Int64(index)
            )
            row.templateName = "bench"
            row.tag = "v1"
            row.version = 1
            row.vcpu = 2
            row.vramMb = 2048
            row.arch = "arm64"
            row.waitReason = "waiting for the scheduler"
            return row
        }
    }

    /// `count` instances created (not measured).
    func created(_ count: Int) async throws -> [InstanceRow] {
        let rows = newInstances(count)
        _ = try await database.insertInstanceGroups([rows], drawMACs: false)
        return rows
    }

    /// `count` instances created and placed (not measured).
    func placed(_ count: Int) async throws -> [(row: InstanceRow, command: Int64)] {
        let rows = try await created(count)
        let changes = placements(of: rows)
        try await database.commit(changes)
        // `placements(of:)` journals a row, a transition and a command per instance, in order.
        return rows.indices.compactMap { index -> (row: InstanceRow, command: Int64)? in
            guard case .instance(let placed) = changes[index * 3], case .command(let command) = changes[index * 3 + 2]
            else { return nil }
            return (placed, command.id ?? 0)
        }
    }

    private let nextCommand = Mutex<Int64>(1)
    private let nextInstance = Mutex<Int>(0)

    /// A fresh instance id, in the UUID shape the fleet uses.
    private func nextID() -> String {
        let number = nextInstance.withLock { number in
            defer { number += 1 }
            return number
        }
        let digits = String(number, radix: 16)
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
    }

    /// What a scheduling pass journals per placement: the row on its node, its transition
    /// and the start command (with the id the fleet gives it).
    func placements(of rows: [InstanceRow]) -> [StoredChange] {
        let now = BerthDatabase.nowMicros()
        var changes: [StoredChange] = []
        changes.reserveCapacity(rows.count * 3)
        for (index, row) in rows.enumerated() {
            var placed = row
            placed.nodeId = nodeIDs[index % nodeIDs.count]
            placed.state = "Pulling"
            placed.waitReason = ""
            placed.ts = now
            changes.append(.instance(placed))
            changes.append(.transition(InstanceTransitionRow(instanceId: row.id, state: "Pulling", ts: now)))
            var command = NodeCommandRow(
                nodeId: placed.nodeId!,
                instanceId: row.id,
                kind: "start",
                payload: startPayload,
                createdAt: now
            )
            command.id = nextCommand.withLock { id in
                defer { id += 1 }
                return id
            }
            command.epoch = 1
            changes.append(.command(command))
        }
        return changes
    }

    /// What a node's `Started` event journals: its event key, the row, its transition, and
    /// the acknowledgement of the start command.
    func startedEvents(of placed: [(row: InstanceRow, command: Int64)]) -> [StoredChange] {
        let now = BerthDatabase.nowMicros()
        var changes: [StoredChange] = []
        changes.reserveCapacity(placed.count * 4)
        for (index, entry) in placed.enumerated() {
            var row = entry.row
            row.state = "Started"
            row.progress = 1
            row.ts = now
            let node = row.nodeId ?? ""
            changes.append(.commandAcknowledged(id: entry.command, nodeID: node, at: now))
            changes.append(.nodeEventKey(nodeID: node, epoch: 1, sequence: Int64(index + 1)))
            changes.append(.instance(row))
            changes.append(.transition(InstanceTransitionRow(instanceId: row.id, state: "Started", ts: now)))
        }
        return changes
    }
}
