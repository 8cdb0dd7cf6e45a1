import Foundation
import Persistence
import Synchronization
import Testing

@testable import ControlPlane

/// The fleet's group commit over a real SQLite file: order kept, many changes to a commit,
/// each caller answered when its own change is durable.
@Suite struct FleetJournalTests {
    /// The real database, with each batch's size recorded on its way through.
    final class RecordingStore: FleetStore {
        let database: BerthDatabase
        let batches = Mutex<[Int]>([])
        /// One element per commit begun.
        let begun: AsyncStream<Void>
        private let beginning: AsyncStream<Void>.Continuation
        init(_ database: BerthDatabase) {
            self.database = database
            (begun, beginning) = AsyncStream.makeStream(of: Void.self)
        }
        func commit(_ changes: [StoredChange]) async throws {
            batches.withLock { $0.append(changes.count) }
            beginning.yield()
            try await database.commit(changes)
        }
        func insertInstanceGroups(
            _ groups: [[InstanceRow]],
            drawMACs: Bool
        ) async throws -> [Result<[InstanceRow], PersistenceError>] {
            try await database.insertInstanceGroups(groups, drawMACs: drawMACs)
        }
    }

    @Test func changesAppendedWhileACommitIsSlowGoInOneBatchInOrder() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-journal-\(UInt64.random(in: .min ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try BerthDatabase(path: directory.appendingPathComponent("berth.sqlite").path)
        try await database.saveNode(NodeRow(id: "n", name: "n", createdAt: 1))
        let store = RecordingStore(database)
        let journal = FleetJournal(store: store, logger: .init(label: "test"))
        let hold = await database.holdWrites()
        var tickets: [FleetJournal.Ticket] = []
        var begun = store.begun.makeAsyncIterator()
        for index in 0..<200 {
            if index == 1 {
                // The writer took the first change and is held inside its commit.
                _ = await begun.next()
            }
            var node = NodeRow(id: "n", name: "n", createdAt: 1)
            node.maxVmCount = index
            node.drainMode = index % 2 == 1
            tickets.append(journal.append(.node(node)))
        }
        // A change of a node that does not exist (deleted meanwhile) creates nothing.
        let ghost = journal.append(.node(NodeRow(id: "gone", name: "gone", createdAt: 1)))
        await hold.release()
        for ticket in tickets { try await journal.durable(ticket) }
        try await journal.durable(ghost)
        let stored = try #require(try await database.node(id: "n"))
        #expect(stored.maxVmCount == 199)
        #expect(stored.drainMode)
        #expect(try await database.node(id: "gone") == nil)
        // The first change went alone (the writer was held inside its commit); everything
        // appended meanwhile went in the next one.
        #expect(store.batches.withLock { $0 } == [1, 200])
        await journal.flush()
    }
}
