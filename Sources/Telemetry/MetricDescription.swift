extension Duration {
    /// Milliseconds, with microseconds as the fraction: for log lines.
    public var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds / 1_000_000_000_000) / 1000
    }
}

/// One series family a Berth process exposes: its Prometheus name, help text, kind and,
/// for histograms, buckets. Each process declares its families once (``MetricsRegistry``
/// takes the list), so a name always carries the same help and buckets wherever it is
/// recorded, and `docs/operations.md` can list them from one place.
public struct MetricDescription: Sendable {
    public enum Kind: Sendable {
        case counter
        case gauge
        /// Seconds, from swift-metrics' `Timer`.
        case durationHistogram([Duration])
        /// Plain numbers, from swift-metrics' aggregating `Recorder`.
        case valueHistogram([Double])
    }

    public let name: String
    public let help: String
    public let kind: Kind
    /// The label names each series has, for the documentation.
    public let labels: [String]

    public init(_ name: String, _ kind: Kind, labels: [String] = [], help: String) {
        self.name = name
        self.help = help
        self.kind = kind
        self.labels = labels
    }

    /// Latencies from a tenth of a millisecond to ten seconds.
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// Waits from ten milliseconds to an hour (a queue can hold a start that long).
    public static let waitBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        .seconds(300), .seconds(900), .seconds(3600),
    ]
}
