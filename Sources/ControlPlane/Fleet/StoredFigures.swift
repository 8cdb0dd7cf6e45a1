import NIOCore
import Persistence

/// A node's heartbeat figures as the fleet last wrote them to storage.
struct StoredFigures: Sendable, Equatable {
    /// CPU or RAM utilisation that moved less than this (of 1.0) is not written again.
    static let threshold = 0.02
    /// Free disk that moved less than this is not written again.
    static let diskThreshold = 256 << 20
    /// Figures are written at least this often, so `last_seen` in storage stays recent.
    static let refresh = TimeAmount.seconds(60)

    var cpuUtil: Double
    var ramUtil: Double
    var freeDisk: Int
    var writtenAt: NIODeadline

    init(_ node: NodeRow, at instant: NIODeadline) {
        cpuUtil = node.cpuUtil
        ramUtil = node.ramUtil
        freeDisk = node.freeDisk
        writtenAt = instant
    }

    /// Whether these figures differ enough from `stored`, or `stored` is old enough, to write.
    func isWorthWriting(over stored: StoredFigures) -> Bool {
        abs(cpuUtil - stored.cpuUtil) >= Self.threshold
            || abs(ramUtil - stored.ramUtil) >= Self.threshold
            || abs(freeDisk - stored.freeDisk) >= Self.diskThreshold
            || writtenAt - stored.writtenAt >= Self.refresh
    }
}
