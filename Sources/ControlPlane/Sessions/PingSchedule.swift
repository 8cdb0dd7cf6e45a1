import NIOCore
import TLSTransport

/// How often the control plane and its peers ping each other while idle, as the fleet grows.
///
/// Either end pings after an interval of silence, so every idle session costs about a
/// ping and a pong per interval. At the configured 1 s that is 20,000 frames a second for
/// 10,000 nodes, more than all their heartbeats. Past `budget` pings a second the interval
/// stretches with the number of node sessions, up to the heartbeat interval: beyond it
/// heartbeats and their acks alone show that both ends are alive. A small fleet keeps the
/// configured resolution. Nodes learn the interval from their welcome and from each
/// heartbeat ack, so it follows the fleet while they stay connected.
struct PingSchedule: Sendable {
    /// The configured interval, seconds: the finest resolution of silence.
    let base: Double
    /// Pings a second the interval is stretched to stay within; 0 never stretches it.
    let budget: Double
    /// The longest interval, seconds (the heartbeat interval, or a third of the offline
    /// timeout if that is shorter, so that a node's two intervals of silence end first).
    let ceiling: Double
    /// The configured intervals of silence after which a node drops its connection.
    let baseDeadAfterPings: Int
    /// The interval in force, read by every connection's liveness handler.
    let pace: PingPace

    init(base: Double, budget: Double, ceiling: Double, deadAfterPings: Int) {
        self.base = base
        self.budget = max(0, budget)
        self.ceiling = max(base, ceiling)
        self.baseDeadAfterPings = max(1, deadAfterPings)
        self.pace = PingPace(.nanoseconds(Int64(base * 1e9)))
    }

    /// The interval for `sessions` connected nodes, seconds: a whole multiple of the
    /// configured one, so that it changes in a few steps as a fleet connects, not with
    /// every node.
    func interval(sessions: Int) -> Double {
        guard budget > 0, base > 0 else { return base }
        let steps = (Double(sessions) / budget / base).rounded(.up)
        return min(max(1, steps) * base, ceiling)
    }

    /// Intervals of silence before a node drops its connection at `interval`: as much
    /// silence as configured (base × pings), and never less than two intervals.
    func deadAfterPings(interval: Double) -> Int {
        max(2, Int((base * Double(baseDeadAfterPings) / interval).rounded(.up)))
    }

    /// Sets the interval for `sessions` connected nodes.
    func update(sessions: Int) {
        pace.set(.nanoseconds(Int64(interval(sessions: sessions) * 1e9)))
    }

    /// What the welcome and each heartbeat ack tell a node now.
    var current: (pingIntervalMillis: UInt64, deadAfterPings: UInt64) {
        let interval = Double(pace.interval.nanoseconds) / 1e9
        return (UInt64(max(1, (interval * 1000).rounded())), UInt64(deadAfterPings(interval: interval)))
    }
}
