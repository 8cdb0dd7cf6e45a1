import Prometheus
import Synchronization

/// Gauges set when the registry is scraped, from state the process already holds (nodes
/// by state, each node's capacity): a family whose label sets come and go. Each
/// ``update(_:)`` sets the series given and removes the ones a previous update set but
/// this one did not (a deleted node's), so the exposition never shows stale series.
public final class ScrapedGauges: Sendable {
    private let registry: MetricsRegistry
    private let description: MetricDescription
    private let live = Mutex<[[String]: Prometheus.Gauge]>([:])

    public init(_ description: MetricDescription, in registry: MetricsRegistry) {
        self.registry = registry
        self.description = description
    }

    /// Sets each label set's value; label values are in ``MetricDescription/labels`` order.
    public func update(_ values: [(labels: [String], value: Double)]) {
        let names = description.labels
        let descriptor = MetricNameDescriptor(metricName: description.name, unitName: "", helpText: description.help)
        let stale = live.withLock { live -> [Prometheus.Gauge] in
            var next: [[String]: Prometheus.Gauge] = [:]
            next.reserveCapacity(values.count)
            for (labels, value) in values {
                let gauge =
                    live[labels]
                    ?? registry.prometheus.makeGauge(descriptor: descriptor, labels: Array(zip(names, labels)))
                gauge.set(to: value)
                next[labels] = gauge
            }
            let stale = live.compactMap { next[$0.key] == nil ? $0.value : nil }
            live = next
            return stale
        }
        for gauge in stale { registry.prometheus.unregisterGauge(gauge) }
    }
}
