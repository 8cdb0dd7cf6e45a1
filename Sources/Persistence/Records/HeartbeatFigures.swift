/// The figures of one node's heartbeats that storage keeps (for nodes while they are away,
/// and across a restart); the live figures are served from memory.
public struct HeartbeatFigures: Sendable, Equatable {
    public var nodeID: String
    public var cpuUtil: Double
    public var ramUtil: Double
    public var freeDisk: Int
    /// Microseconds since the Unix epoch.
    public var lastSeen: Int64

    public init(nodeID: String, cpuUtil: Double, ramUtil: Double, freeDisk: Int, lastSeen: Int64) {
        self.nodeID = nodeID
        self.cpuUtil = cpuUtil
        self.ramUtil = ramUtil
        self.freeDisk = freeDisk
        self.lastSeen = lastSeen
    }
}
