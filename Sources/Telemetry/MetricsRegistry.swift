import CoreMetrics
import Prometheus
import Synchronization

/// One process part's metrics: a Prometheus registry of its own, and a swift-metrics
/// factory over it.
///
/// There is no global `MetricsSystem.bootstrap`: a test process runs many control planes
/// and gateways, and each keeps its series apart. Code records through swift-metrics'
/// `Counter`, `Timer` and `Recorder` made with this factory, so any swift-metrics backend
/// could stand in; help text and buckets come from the ``MetricDescription`` of the name,
/// so every series of a family agrees on them (the Prometheus registry insists).
public final class MetricsRegistry: MetricsFactory, Sendable {
    public let prometheus = PrometheusCollectorRegistry()
    private let descriptions: [String: MetricDescription]
    /// Families rendered by themselves, after the registry's own.
    private let scraped = Mutex<[ScrapedGauges]>([])

    public init(_ descriptions: [MetricDescription]) {
        self.descriptions = Dictionary(descriptions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The Prometheus text exposition (format 0.0.4) of every series.
    public func exposition() -> [UInt8] {
        var out = prometheus.emitToBuffer()
        for family in scraped.withLock({ $0 }) { family.render(into: &out) }
        return out
    }

    func attach(_ family: ScrapedGauges) {
        scraped.withLock { $0.append(family) }
    }

    /// The content type of ``exposition()``.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    // MARK: typed makers

    public func counter(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: name, dimensions: labels, factory: self)
    }

    public func timer(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: name, dimensions: labels, factory: self)
    }

    /// A histogram of plain values (batch sizes, say).
    public func histogram(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Recorder {
        CoreMetrics.Recorder(label: name, dimensions: labels, aggregate: true, factory: self)
    }

    /// A gauge that keeps the last value set.
    public func gauge(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: name, dimensions: labels, factory: self)
    }

    /// A gauge moved up and down (requests in flight, say).
    public func meter(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Meter {
        CoreMetrics.Meter(label: name, dimensions: labels, factory: self)
    }

    // MARK: MetricsFactory

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: descriptions[label]?.help ?? "")
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        prometheus.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        prometheus.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return prometheus.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        var buckets: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000]
        if case .valueHistogram(let declared) = descriptions[label]?.kind { buckets = declared }
        return prometheus.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        prometheus.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        var buckets = MetricDescription.latencyBuckets
        if case .durationHistogram(let declared) = descriptions[label]?.kind { buckets = declared }
        return prometheus.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { prometheus.unregisterCounter(counter) }
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { prometheus.unregisterCounter(counter) }
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { prometheus.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { prometheus.unregisterValueHistogram(histogram) }
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { prometheus.unregisterGauge(gauge) }
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { prometheus.unregisterDurationHistogram(histogram) }
    }
}
