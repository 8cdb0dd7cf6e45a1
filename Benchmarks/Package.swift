// swift-tools-version: 6.1
// Benchmarks live in their own package so the root build never resolves package-benchmark,
// swift-protobuf or gRPC.
//   cd Benchmarks && swift package benchmark --target CodecBenchmarks    # codec (P1)
//   cd Benchmarks && swift package benchmark --target StorageBenchmarks  # the fleet's commits (P4)
//   cd Benchmarks && swift run -c release RPCBenchmark  # gateway RPC vs gRPC (P2)
//   cd Benchmarks && swift build -c release --product StartLatency  # P5's client (scripts/bench-starts)
// The protobuf and gRPC code beside the benchmarks is generated from Proto/berth_bench.proto
// and committed; nothing here runs protoc.
import PackageDescription

let package = Package(
    name: "BerthBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` fixes the identity, whatever the checkout folder is called.
        .package(name: "berth", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "WireProtocol", package: "berth"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "StorageBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Persistence", package: "berth"),
            ],
            path: "Benchmarks/StorageBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "RPCBenchmark",
            dependencies: [
                .product(name: "ControlPlane", package: "berth"),
                .product(name: "RESTGateway", package: "berth"),
                .product(name: "TLSTransport", package: "berth"),
                .product(name: "WireProtocol", package: "berth"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/RPCBenchmark"
        ),
        .executableTarget(
            name: "StartLatency",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client")
            ],
            path: "Benchmarks/StartLatency"
        ),
    ]
)
