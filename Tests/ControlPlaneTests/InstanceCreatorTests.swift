import BerthTestSupport
import Foundation
import Persistence
import Testing

@testable import ControlPlane

/// Concurrent creations share one transaction, and one that fails on its merits fails alone.
@Suite struct InstanceCreatorTests {
    let path = TestPaths.temporaryDirectory("instance-creator").appendingPathComponent("berth.sqlite").path

    static func row(_ id: String, mac: String = "") -> InstanceRow {
        var row = InstanceRow(id: id, state: "Scheduling", templateId: "t1", crTime: 1)
        row.macAddress = mac
        return row
    }

    /// Yields until `condition` holds: the creator's queue is in memory, so this waits on
    /// the other tasks' progress, not on a clock.
    static func settle(_ condition: () -> Bool) async throws {
        for _ in 0..<100_000 where !condition() { await Task.yield() }
        try #require(condition())
    }

    @Test func requestsWaitingForTheWriterShareTheNextTransaction() async throws {
        let db = try BerthDatabase(path: path)
        try await db.insertTemplate(
            TemplateRow(id: "t1", name: "tmpl", arch: "amd64", cpuCores: 2, ramMb: 2048, createdAt: 1),
            versions: [TemplateVersionRow(templateId: "t1", number: 1, tag: "v1", size: 10, createdAt: 1)]
        )
        _ = try await db.populateMACs(first: 0x0200_0000_0001, last: 0x0200_0000_0020)
        let creator = InstanceCreator(store: db, drawMACs: true)

        let hold = await db.holdWrites()
        // The first request takes the writer's next transaction and waits for the hold.
        let first = Task { try await creator.create([Self.row("a0")]) }
        try await Self.settle { creator.transactions == 1 && creator.waiting == 0 }
        // These queue behind it; one asks for an address outside the pool.
        var later: [Task<[InstanceRow], any Error>] = []
        for index in 1...8 {
            later.append(Task { try await creator.create([Self.row("a\(index)"), Self.row("b\(index)")]) })
            try await Self.settle { creator.waiting == index }
        }
        let refused = Task { try await creator.create([Self.row("bad", mac: "02:00:00:00:09:99")]) }
        try await Self.settle { creator.waiting == 9 }
        await hold.release()

        #expect(try await first.value.map(\.id) == ["a0"])
        var macs = Set<String>()
        for (index, task) in later.enumerated() {
            let stored = try await task.value
            #expect(stored.map(\.id) == ["a\(index + 1)", "b\(index + 1)"])
            macs.formUnion(stored.map(\.macAddress))
        }
        await #expect(throws: PersistenceError.self) { try await refused.value }
        // Two transactions for ten requests: the first alone, then the nine that waited.
        #expect(creator.transactions == 2)
        #expect(macs.count == 16 && !macs.contains(""))
        let stored = try await db.instances().map(\.id)
        #expect(stored.count == 17)
        #expect(!stored.contains("bad"))
        #expect(try await db.countMACs(inUse: true) == 17)
    }
}
