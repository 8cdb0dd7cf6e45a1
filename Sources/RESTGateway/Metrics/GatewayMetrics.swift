import Metrics
import Synchronization
import Telemetry

/// The gateway's series, served at `/metrics` on its own HTTP port. The fleet's state is
/// the control plane's to expose (`berth controlplane --metrics-port`); a gateway shows
/// what passes through it.
public final class GatewayMetrics: Sendable {
    public let registry: MetricsRegistry
    let inFlight: CoreMetrics.Meter
    let connected: CoreMetrics.Gauge
    let tunnelsOpen: CoreMetrics.Gauge
    let authenticationFailures: CoreMetrics.Counter
    /// Per route, method and status: made on first use, kept (routes are a fixed set).
    private let requests = Mutex<[RequestKey: (CoreMetrics.Counter, CoreMetrics.Timer)]>([:])

    struct RequestKey: Hashable {
        let method: String
        let route: String
        let status: Int
    }

    public static let descriptions: [MetricDescription] = [
        .init("berth_gateway_http_requests_total", .counter, labels: ["method", "route", "status"],
              help: "HTTP requests answered, by method, route pattern and status."),
        .init("berth_gateway_http_request_duration_seconds", .durationHistogram(MetricDescription.latencyBuckets),
              labels: ["method", "route", "status"],
              help: "Time from a request's head to the end of its answer, by method, route pattern and status."),
        .init("berth_gateway_http_requests_in_flight", .gauge, help: "HTTP requests being answered now."),
        .init("berth_gateway_authentication_failures_total", .counter,
              help: "Requests refused with 401 (no or a wrong credential)."),
        .init("berth_gateway_control_plane_connected", .gauge,
              help: "1 while the gateway's connection to the control plane is up."),
        .init("berth_gateway_tunnels_open", .gauge, help: "VM-access tunnels open through this gateway."),
    ]

    public init() {
        let registry = MetricsRegistry(Self.descriptions)
        self.registry = registry
        inFlight = registry.meter("berth_gateway_http_requests_in_flight")
        connected = registry.gauge("berth_gateway_control_plane_connected")
        tunnelsOpen = registry.gauge("berth_gateway_tunnels_open")
        authenticationFailures = registry.counter("berth_gateway_authentication_failures_total")
    }

    /// One request answered.
    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let key = RequestKey(method: method, route: route, status: status)
        let (counter, timer) = requests.withLock { requests in
            if let existing = requests[key] { return existing }
            let labels = [("method", method), ("route", route), ("status", "\(status)")]
            let made = (
                registry.counter("berth_gateway_http_requests_total", labels),
                registry.timer("berth_gateway_http_request_duration_seconds", labels)
            )
            requests[key] = made
            return made
        }
        counter.increment()
        timer.record(duration: duration)
        if status == 401 { authenticationFailures.increment() }
    }
}
