import Foundation
import BerthTestSupport
import Persistence
import Testing

/// Heartbeat figures reach storage in batched statements and touch nothing else (issue 12).
@Suite struct HeartbeatFiguresTests {
    @Test(arguments: StorageEngine.allCases)
    func figuresForThousandsOfNodesAreWrittenInBatchesAndTouchOnlyTheirColumns(engine: StorageEngine) async throws {
        let db = try await TestStore(engine).open()
        let count = 2_100  // two batches
        // The nodes in one transaction: 2,100 synced commits would load the disk the whole
        // suite shares for many seconds.
        try await db.saveNodes(
            (0..<count).map { index in
                var node = NodeRow(id: "n\(index)", name: "n\(index)", createdAt: 1)
                node.drainMode = index == 7
                node.maxVmCount = 3
                return node
            }
        )
        var figures = (0..<count).map {
            HeartbeatFigures(nodeID: "n\($0)", cpuUtil: 0.5, ramUtil: 0.25, freeDisk: 1000 + $0, lastSeen: 42)
        }
        // A node deleted meanwhile is skipped, not an error.
        figures.append(HeartbeatFigures(nodeID: "gone", cpuUtil: 1, ramUtil: 1, freeDisk: 1, lastSeen: 1))
        try await db.commit([.heartbeatFigures(figures)])
        for index in [0, 7, 1999, 2000, 2099] {
            let node = try #require(try await db.node(id: "n\(index)"))
            #expect(node.cpuUtil == 0.5 && node.ramUtil == 0.25)
            #expect(node.freeDisk == 1000 + index && node.lastSeen == 42)
            #expect(node.drainMode == (index == 7) && node.maxVmCount == 3)
        }
        #expect(try await db.node(id: "gone") == nil)
    }
}
