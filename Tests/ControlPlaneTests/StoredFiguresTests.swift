import NIOCore
import Persistence
import Testing

@testable import ControlPlane

/// A heartbeat flush writes a node only when its figures moved or are old (issue 12).
@Suite struct StoredFiguresTests {
    func figures(cpu: Double, ram: Double = 0.5, disk: Int = 10 << 30, at seconds: Int64) -> StoredFigures {
        var node = NodeRow(id: "n", name: "n", createdAt: 1)
        node.cpuUtil = cpu
        node.ramUtil = ram
        node.freeDisk = disk
        return StoredFigures(node, at: .uptimeNanoseconds(UInt64(seconds) * 1_000_000_000))
    }

    @Test func onlyMovedOrOldFiguresAreWorthWriting() {
        let stored = figures(cpu: 0.30, at: 100)
        #expect(!figures(cpu: 0.31, at: 105).isWorthWriting(over: stored))
        #expect(figures(cpu: 0.33, at: 105).isWorthWriting(over: stored))
        #expect(figures(cpu: 0.30, ram: 0.45, at: 105).isWorthWriting(over: stored))
        #expect(!figures(cpu: 0.30, disk: (10 << 30) - (100 << 20), at: 105).isWorthWriting(over: stored))
        #expect(figures(cpu: 0.30, disk: 9 << 30, at: 105).isWorthWriting(over: stored))
        #expect(figures(cpu: 0.30, at: 160).isWorthWriting(over: stored))
    }
}
