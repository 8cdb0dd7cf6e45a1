import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Telemetry
import WireProtocol

/// `GET /berth/v1/vm/metrics?id=`: an instance's CPU, memory, uptime and restarts, as JSON
/// in the envelope, or as Prometheus text with `format=prometheus` (or an `Accept` that
/// asks for text). Without `id`, every instance not `Terminated`.
struct InstanceMetricsRoutes {
    let client: ControlPlaneClient

    func register(on router: Router<GatewayContext>) {
        router.get("/berth/v1/vm/metrics") { request, context -> Response in
            let query = request.uri.queryParameters
            let id = query.get("id") ?? ""
            let format = query.get("format") ?? ""
            guard ["", "json", "prometheus"].contains(format) else {
                throw GatewayError(.badRequest, "format must be json or prometheus")
            }
            let list: InstanceMetricsList = try await client.rpc(
                RPCCatalog.instanceMetrics,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            let accept = request.headers[.accept] ?? ""
            let prometheus =
                format == "prometheus"
                || (format.isEmpty && (accept.contains("text/plain") || accept.contains("openmetrics")))
            if prometheus {
                return Response(
                    status: .ok,
                    headers: [.contentType: MetricsRegistry.contentType],
                    body: .init(byteBuffer: ByteBuffer(string: Self.prometheusText(list.items)))
                )
            }
            let items = list.items.map(MetricsJSON.init)
            if !id.isEmpty, let item = items.first { return AnkaJSON.ok(item) }
            return AnkaJSON.ok(items)
        }
    }

    /// The figures as Prometheus text: CPU and memory for instances whose node reported
    /// them, uptime for `Started` ones, restarts for all.
    static func prometheusText(_ items: [InstanceMetrics]) -> String {
        var text = ""
        func family(
            _ name: String,
            _ type: String,
            _ help: String,
            _ value: (InstanceMetrics) -> Double?
        ) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for item in items {
                guard let number = value(item) else { continue }
                text += "\(name){instance_id=\"\(escaped(item.instanceID))\",node_id=\"\(escaped(item.nodeID))\"} "
                text += number == number.rounded() && abs(number) < 1e15 ? "\(Int(number))\n" : "\(number)\n"
            }
        }
        family(
            "berth_instance_cpu_percent",
            "gauge",
            "CPU used by the instance's VM since its node's previous heartbeat, in percent of one core.",
            { $0.reported ? $0.cpuPercent : nil }
        )
        family(
            "berth_instance_memory_bytes",
            "gauge",
            "Resident memory of the instance's VM at its node's last heartbeat.",
            { $0.reported ? Double($0.memoryBytes) : nil }
        )
        family(
            "berth_instance_uptime_seconds",
            "gauge",
            "Seconds since the instance's VM last started.",
            { $0.state == .started ? $0.uptimeSeconds : nil }
        )
        family(
            "berth_instance_restarts_total",
            "counter",
            "Restarts its restart policy made.",
            { Double($0.restartCount) }
        )
        return text
    }

    /// A label value as the exposition format writes it.
    static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// One instance's figures in the envelope's body.
    struct MetricsJSON: Encodable {
        let instance_id: String
        let instance_state: String
        let node_id: String
        /// False until the node has reported figures for it (CPU and memory are then null).
        let reported: Bool
        let cpu_percent: Double?
        let memory_bytes: Int?
        let uptime_seconds: Double
        let restart_count: Int

        init(_ item: InstanceMetrics) {
            instance_id = item.instanceID
            instance_state = item.state.description
            node_id = item.nodeID
            reported = item.reported
            cpu_percent = item.reported ? item.cpuPercent : nil
            memory_bytes = item.reported ? item.memoryBytes : nil
            uptime_seconds = item.uptimeSeconds
            restart_count = item.restartCount
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(instance_id, forKey: .instance_id)
            try c.encode(instance_state, forKey: .instance_state)
            try c.encode(node_id, forKey: .node_id)
            try c.encode(reported, forKey: .reported)
            try c.encode(cpu_percent, forKey: .cpu_percent)  // null, not absent, when unreported
            try c.encode(memory_bytes, forKey: .memory_bytes)
            try c.encode(uptime_seconds, forKey: .uptime_seconds)
            try c.encode(restart_count, forKey: .restart_count)
        }

        enum CodingKeys: String, CodingKey {
            case instance_id, instance_state, node_id, reported, cpu_percent, memory_bytes, uptime_seconds
            case restart_count
        }
    }
}
