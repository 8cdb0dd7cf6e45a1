// swift-tools-version: 6.1
// Benchmarks live in their own package so the root build never resolves package-benchmark.
// Run: cd Benchmarks && swift package benchmark
import PackageDescription

let package = Package(
    name: "BerthBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` fixes the identity, whatever the checkout folder is called.
        .package(name: "berth", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "WireProtocol", package: "berth"),
            ],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
