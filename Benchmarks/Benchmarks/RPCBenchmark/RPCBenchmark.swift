import ControlPlane
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Logging
import RESTGateway
import TLSTransport
import WireProtocol

/// Issue 12's P2: the gateway's RPC to the control plane over Berth's protocol, against a
/// grpc-swift-2 unary call over mTLS with swift-protobuf, with the same message, on the
/// same machine, in the same run.
///
/// Berth's side is the real thing: a `ControlPlane` (SQLite in a temporary directory) and
/// the gateway's `ControlPlaneClient`, calling `status` (`Empty` → `ControllerStatus`). The
/// gRPC side serves the same answer from a `Controller/Status` method. Both use mTLS with
/// the same certificates (the control plane's server identity and a gateway identity from
/// its CA), one connection each, TLS 1.3. Each side runs for `--seconds` at 1 and at 16
/// calls in flight, after a warm-up; it prints calls per second and latency percentiles,
/// and the ratios the issue sets goals for (Berth ≥ 2× the calls per second, p99 ≤ ½).
///
/// Run: `cd Benchmarks && swift run -c release RPCBenchmark [--seconds 5]`.
@main
struct RPCBenchmark {
    static func main() async throws {
        let arguments = CommandLine.arguments
        let seconds = arguments.firstIndex(of: "--seconds").flatMap { Int(arguments[$0 + 1]) } ?? 5
        let duration = Duration.seconds(seconds)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .critical
            return handler
        }

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-rpc-bench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = DataDirectory(root)
        _ = try directory.initialize()
        var configuration = ControlPlaneConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        let serverIdentity = try directory.loadServerIdentity()
        let controlPlane = try await ControlPlane(
            configuration: configuration,
            database: try directory.openDatabase(),
            authority: try directory.loadAuthority(),
            serverIdentity: serverIdentity
        )
        let port = try await controlPlane.bind()
        let serving = Task { try await controlPlane.run() }
        let gatewayIdentity = try await controlPlane.issueGatewayIdentity(name: "bench-gateway")
        let trustRoot = controlPlane.authority.certificate

        let client = ControlPlaneClient(
            configuration: .init(host: "127.0.0.1", port: port, identity: gatewayIdentity, trustRoot: trustRoot)
        )
        let connection = Task { await client.run() }
        let berthCall: @Sendable () async throws -> Void = {
            let answer = try await client.call(RPCCatalog.status, principal: .root, body: Empty())
            guard answer.status == .ok, try ControllerStatus(bytes: answer.body).status == "Running" else {
                throw BenchmarkFailure("berth status failed: \(answer.status) \(answer.message)")
            }
        }

        // gRPC reads the same certificates and keys, as PEM files.
        let pki = directory.pkiDirectory
        try gatewayIdentity.write(to: pki, name: "bench-gateway")
        func pem(_ name: String) -> String { pki.appendingPathComponent(name).path }
        let caSource = TLSConfig.CertificateSource.file(path: pem("ca.crt"), format: .pem)
        let server = GRPCServer(
            transport: .http2NIOPosix(
                address: .ipv4(host: "127.0.0.1", port: 0),
                transportSecurity: .mTLS(
                    certificateChain: [.file(path: pem("controlplane.crt"), format: .pem)],
                    privateKey: .file(path: pem("controlplane.key"), format: .pem)
                ) {
                    $0.trustRoots = .certificates([caSource])
                    $0.clientCertificateVerification = .noHostnameVerification
                }
            ),
            services: [StatusService(version: configuration.version)]
        )
        let grpcServing = Task { try await server.serve() }
        guard let address = try await server.listeningAddress?.ipv4 else {
            throw BenchmarkFailure("the gRPC server did not listen")
        }

        try await withGRPCClient(
            transport: .http2NIOPosix(
                target: .ipv4(address: "127.0.0.1", port: address.port),
                transportSecurity: .mTLS(
                    certificateChain: [.file(path: pem("bench-gateway.crt"), format: .pem)],
                    privateKey: .file(path: pem("bench-gateway.key"), format: .pem)
                ) {
                    $0.trustRoots = .certificates([caSource])
                    $0.serverCertificateVerification = .fullVerification
                }
            )
        ) { grpc in
            let controller = Berth_Bench_Controller.Client(wrapping: grpc)
            let grpcCall: @Sendable () async throws -> Void = {
                let status = try await controller.status(Berth_Bench_Empty())
                guard status.status == "Running" else { throw BenchmarkFailure("grpc status failed") }
            }
            // Connect both and warm up (JIT-free, but caches, pools and TLS session state).
            _ = try await measure(inFlight: 16, for: .seconds(1), berthCall)
            _ = try await measure(inFlight: 16, for: .seconds(1), grpcCall)

            print("RPC status (Empty → ControllerStatus) over mTLS, \(seconds) s per row, same process and run")
            print("side               in flight   calls/s     p50 µs    p99 µs")
            for inFlight in [1, 16] {
                let berth = try await measure(inFlight: inFlight, for: duration, berthCall)
                let grpcResult = try await measure(inFlight: inFlight, for: duration, grpcCall)
                print(berth.row("berth", inFlight))
                print(grpcResult.row("grpc-swift-2", inFlight))
                print(
                    String(
                        format: "ratio at %d in flight: calls/s %.2f× (goal ≥ 2), p99 %.2f of gRPC's (goal ≤ 0.5)",
                        inFlight,
                        berth.rate / grpcResult.rate,
                        berth.p99 / grpcResult.p99
                    )
                )
            }
        }
        grpcServing.cancel()
        server.beginGracefulShutdown()
        connection.cancel()
        serving.cancel()
        _ = await serving.result
    }
}

/// The gRPC side's `Controller/Status`: the answer Berth's control plane gives.
struct StatusService: Berth_Bench_Controller.SimpleServiceProtocol {
    let version: String

    func status(request: Berth_Bench_Empty, context: ServerContext) async throws -> Berth_Bench_ControllerStatus {
        .with {
            $0.status = "Running"
            $0.version = version
            $0.registryStatus = "Running"
        }
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Calls per second and latency percentiles of one side at one concurrency.
struct Measurement {
    var rate: Double
    var p50: Double
    var p99: Double

    func row(_ side: String, _ inFlight: Int) -> String {
        side.padding(toLength: 18, withPad: " ", startingAt: 0)
            + String(format: " %9d %9.0f %10.1f %9.1f", inFlight, rate, p50 * 1e6, p99 * 1e6)
    }
}

/// Runs `call` from `inFlight` tasks, each calling again as soon as its answer arrives,
/// until `duration` has passed.
func measure(
    inFlight: Int,
    for duration: Duration,
    _ call: @escaping @Sendable () async throws -> Void
) async throws -> Measurement {
    let clock = ContinuousClock()
    let start = clock.now
    let end = start + duration
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for _ in 0..<inFlight {
            group.addTask {
                var mine: [Double] = []
                mine.reserveCapacity(200_000)
                while clock.now < end {
                    let begun = clock.now
                    try await call()
                    let elapsed = clock.now - begun
                    mine.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
                }
                return mine
            }
        }
        var all: [Double] = []
        for try await part in group { all += part }
        return all.sorted()
    }
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    func percentile(_ share: Double) -> Double {
        latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(share * Double(latencies.count)))]
    }
    return Measurement(rate: Double(latencies.count) / seconds, p50: percentile(0.5), p99: percentile(0.99))
}
