import BerthTestSupport
import ControlPlane
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
import WireProtocol

/// Both Prometheus endpoints over real HTTP: the control plane's `--metrics-port` and the
/// gateway's `/metrics`, scraped before and after instances start.
@Suite struct MetricsTests {
    @Test func seriesMoveWhenInstancesStartOnBothEndpoints() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let node = cp.startAgent(try await cp.enroll(name: "metered"), name: "metered")
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp, rootToken: "metrics-root-token-1")
        let endpoint = try await MetricsServer.start(cp.controlPlane)
        let scraper = HTTPTestClient(base: "http://127.0.0.1:\(endpoint.port)", authorization: nil)

        let before = try await Exposition(scraper.send("GET", "/metrics"))
        #expect(before.contentType.hasPrefix("text/plain; version=0.0.4"))
        #expect(before["berth_nodes", ["state": "Active"]] == 1)
        #expect(before["berth_nodes", ["state": "Offline"]] == 0)
        #expect(before["berth_instances", ["state": "Started"]] == 0)
        #expect(before["berth_connections", ["role": "node"]] == 1)
        #expect(before["berth_connections", ["role": "gateway"]] == 1)
        #expect(before["berth_node_instance_capacity", ["id": node.nodeID, "name": "metered"]] ?? 0 > 0)
        #expect(before["berth_registry_templates"] ?? 0 >= 1)
        #expect(before.samples.contains { $0.name == "berth_node_state" && $0.labels["id"] == node.nodeID && $0.labels["state"] == "Active" && $0.value == 1 })
        #expect(before.samples.contains { $0.name == "berth_registry_template_tags" && $0.labels["template_uuid"] == TestTemplates.linux && $0.value >= 1 })
        #expect(before["berth_registry_disk_total_bytes"] ?? 0 > 0)
        #expect(before["berth_ca_expiry_timestamp_seconds"] ?? 0 > Date().timeIntervalSince1970)
        #expect(before["berth_placements_total"] ?? 0 == 0)

        let events = cp.controlPlane.events.subscribe()
        let started = try await gateway.http.send("POST", "/api/v1/vm", body: #"{"vmid":"\#(TestTemplates.linux)","count":2}"#)
        let ids = Set(try #require(started.json["body"] as? [String]))
        try await events.instances(ids, reach: .started)

        let after = try await Exposition(scraper.send("GET", "/metrics"))
        #expect(after["berth_instances", ["state": "Started"]] == 2)
        #expect(after["berth_instances_by_template", ["state": "Started", "template_uuid": TestTemplates.linux]] == 2)
        #expect(after["berth_node_instances", ["id": node.nodeID, "name": "metered"]] == 2)
        #expect(after["berth_placements_total"] == 2)
        #expect(after["berth_queue_wait_seconds_count"] == 2)
        #expect(after["berth_queue_length"] == 0)
        #expect(after["berth_rpc_duration_seconds_count", ["method": "startInstances"]] == 1)
        #expect(after["berth_placement_pass_duration_seconds_count"] ?? 0 >= 1)
        #expect(after["berth_storage_commit_duration_seconds_count", ["writer": "journal"]] ?? 0 > before["berth_storage_commit_duration_seconds_count", ["writer": "journal"]] ?? 0)
        #expect(after["berth_storage_commit_batch_size_count", ["writer": "instances"]] ?? 0 >= 1)
        // A failed RPC is counted by method and status.
        _ = try await gateway.http.send("DELETE", "/api/v1/vm", body: #"{"id":"no-such-instance"}"#)
        let failed = try await Exposition(scraper.send("GET", "/metrics"))
        #expect(failed["berth_rpc_errors_total", ["method": "terminateInstance", "status": "notFound"]] == 1)

        // The gateway's endpoint: a credential when authentication is on.
        let anonymous = HTTPTestClient(base: gateway.base, authorization: nil)
        let refused = try await anonymous.send("GET", "/metrics")
        #expect(refused.status == 401)
        #expect(refused.json["status"] as? String == "FAIL")
        // Prometheus's `basic_auth` with username `root` and the token as the password.
        let own = try await Exposition(gateway.http.send("GET", "/metrics"))
        #expect(own["berth_gateway_http_requests_total", ["method": "POST", "route": "/api/v1/vm", "status": "200"]] == 1)
        #expect(own["berth_gateway_http_requests_total", ["method": "DELETE", "route": "/api/v1/vm", "status": "200"]] == 1)
        #expect(own["berth_gateway_http_request_duration_seconds_count", ["method": "POST", "route": "/api/v1/vm", "status": "200"]] == 1)
        #expect(own["berth_gateway_authentication_failures_total"] ?? 0 >= 1)
        #expect(own["berth_gateway_control_plane_connected"] == 1)

        // Bytes that are not TLS count as a failed handshake at the control plane.
        try await RawTCP.sendAndClose(port: cp.port, bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8))
        try await withTimeout(10, "the handshake failure in the metrics") {
            while true {
                let now = try await Exposition(scraper.send("GET", "/metrics"))
                // The control plane closed the connection before the client saw it closed, but
                // may count it a moment later: each scrape is the observation, no timer.
                if now["berth_tls_handshake_failures_total"] ?? 0 >= 1 { return }
            }
        }

        await endpoint.stop()
        await node.stop()
        await gateway.stop()
        await cp.stop()
    }

    @Test func aTakenMetricsPortFailsWithTheAddress() async throws {
        let cp = try await TestControlPlane.start()
        let first = try await MetricsServer.start(cp.controlPlane)
        let second = MetricsEndpoint(controlPlane: cp.controlPlane, port: first.port, logger: Logger(label: "test"))
        await #expect(throws: ControlPlaneError.self) {
            try await second.run()
        }
        do {
            try await second.run()
        } catch {
            #expect("\(error)".contains("127.0.0.1:\(first.port)"))
        }
        await first.stop()
        await cp.stop()
    }
}

/// A metrics endpoint running for a test.
struct MetricsServer {
    let port: Int
    let task: Task<Void, any Error>

    static func start(_ controlPlane: ControlPlane) async throws -> MetricsServer {
        let endpoint = MetricsEndpoint(controlPlane: controlPlane, port: 0, logger: Logger(label: "test.metrics"))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await endpoint.run { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestTimeout(what: "metrics port") }
        return MetricsServer(port: port, task: task)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }
}

/// A Prometheus text exposition, read into samples.
struct Exposition {
    let contentType: String
    let samples: [(name: String, labels: [String: String], value: Double)]

    init(_ reply: HTTPTestClient.Reply) throws {
        guard reply.status == 200 else { throw TestTimeout(what: "a 200 from /metrics, got \(reply.status): \(reply.text)") }
        contentType = reply.contentType
        var samples: [(String, [String: String], Double)] = []
        for line in reply.text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            var labels: [String: String] = [:]
            var name = String(series)
            if let open = series.firstIndex(of: "{") {
                name = String(series[..<open])
                let inner = series[series.index(after: open)..<(series.lastIndex(of: "}") ?? series.endIndex)]
                for pair in inner.split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
                }
            }
            samples.append((name, labels, value))
        }
        self.samples = samples
    }

    /// The value of the series named `name` with exactly these labels.
    subscript(name: String, labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }
}

/// A plain TCP client, for bytes that are not TLS.
enum RawTCP {
    static func sendAndClose(port: Int, bytes: [UInt8]) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        try await channel.closeFuture.get()
    }
}

/// One start followed from the gateway's log to the control plane's by its request id.
@Suite struct RequestIDTests {
    @Test func aStartCarriesItsRequestIDFromTheGatewayLogToTheControlPlaneLog() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let node = cp.startAgent(try await cp.enroll(name: "traced"), name: "traced")
        try await node.waitConnected()
        let gatewayLogs = LogCapture(level: .info)
        let gateway = try await TestGateway.start(cp, logger: gatewayLogs.logger("berth.gateway"))

        // The caller's own id is kept.
        let started = try await gateway.http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid":"\#(TestTemplates.linux)"}"#,
            headers: ["X-Request-ID": "ci-job-42.start"]
        )
        let id = try #require((started.json["body"] as? [String])?.first)
        #expect(started.headers["x-request-id"] == "ci-job-42.start")
        try await withTimeout(10, "log line request, request_id=ci-job-42.start, path=/api/v1/vm, status=200") { await gatewayLogs.waitForLine("request", "request_id=ci-job-42.start", "path=/api/v1/vm", "status=200") }
        try await withTimeout(10, "log line rpc, request_id=ci-job-42.start, method=startInstances, instances=\(id)") { await cp.logs.waitForLine("rpc", "request_id=ci-job-42.start", "method=startInstances", "instances=\(id)") }

        // Without one (or with one that is not an id), the gateway makes one.
        for offered in [nil, "not an id; rm -rf"] {
            let reply = try await gateway.http.send(
                "DELETE",
                "/api/v1/vm",
                body: #"{"id":"\#(id)"}"#,
                headers: offered.map { ["X-Request-ID": $0] } ?? [:]
            )
            let made = try #require(reply.headers["x-request-id"])
            #expect(made.count == 16 && made.allSatisfy(\.isHexDigit), "\(made)")
            try await withTimeout(10, "log line request, request_id=\(made), method=DELETE") { await gatewayLogs.waitForLine("request", "request_id=\(made)", "method=DELETE") }
            try await withTimeout(10, "log line rpc, request_id=\(made), method=terminateInstance") { await cp.logs.waitForLine("rpc", "request_id=\(made)", "method=terminateInstance") }
        }
        // Reads are logged at debug: not in an info log.
        _ = try await gateway.http.send("GET", "/api/v1/status")
        #expect(!gatewayLogs.contains("request", "path=/api/v1/status"))

        await node.stop()
        await gateway.stop()
        await cp.stop()
    }
}
