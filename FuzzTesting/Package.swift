// swift-tools-version: 6.1
// libFuzzer harnesses for Berth's parsers of untrusted bytes. Its own package, so the root
// build never compiles them. Run: scripts/fuzz (see docs/operations.md, "Fuzzing").
import PackageDescription

let package = Package(
    name: "BerthFuzzTesting",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` fixes the identity, whatever the checkout folder is called.
        .package(name: "berth", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "FuzzFrameDecoder",
            dependencies: [.product(name: "WireProtocol", package: "berth")]
        ),
        .executableTarget(
            name: "FuzzPayloads",
            dependencies: [.product(name: "WireProtocol", package: "berth")]
        ),
        .executableTarget(
            name: "FuzzTar",
            dependencies: [.product(name: "RESTGateway", package: "berth")]
        ),
        .executableTarget(
            name: "FuzzRESTJSON",
            dependencies: [.product(name: "RESTGateway", package: "berth")]
        ),
        .executableTarget(
            name: "FuzzEnrollment",
            dependencies: [
                .product(name: "WireProtocol", package: "berth"),
                .product(name: "TLSTransport", package: "berth"),
            ]
        ),
    ]
)
