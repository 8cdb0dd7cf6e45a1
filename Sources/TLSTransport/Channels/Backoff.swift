/// Reconnect delays: exponential with full jitter, so a fleet that lost its control
/// plane does not come back as one thundering herd.
public struct Backoff: Sendable {
    public var base: Duration
    public var maximum: Duration
    /// Delays handed out since the last ``reset()``.
    public private(set) var attempt = 0

    public init(base: Duration = .milliseconds(200), maximum: Duration = .seconds(30)) {
        self.base = base
        self.maximum = maximum
    }

    /// The next delay: uniform in [0, min(maximum, base · 2^attempt)].
    public mutating func next<R: RandomNumberGenerator>(using random: inout R) -> Duration {
        let ceiling = min(maximum, base * (1 << min(attempt, 20)))
        attempt += 1
        let nanos = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0...max(1, nanos), using: &random))
    }

    public mutating func next() -> Duration {
        var random = SystemRandomNumberGenerator()
        return next(using: &random)
    }

    /// Call after a connection succeeded.
    public mutating func reset() { attempt = 0 }
}
