import ArgumentParser
import DevCluster
import Foundation
import Logging
import TLSTransport

/// `berth dev`: control plane, gateway and simulated nodes in one process.
struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run everything locally: a control plane, a gateway on HTTP and simulated nodes."
    )

    @Option(help: "Number of simulated nodes (odd ones arm64, even ones amd64).")
    var nodes = 2

    @Option(
        help: "Allow more than 500 nodes (each is an agent in this process and an open file); up to 15,000."
    )
    var maxNodes = 500

    @Option(help: "Addresses in the managed MAC pool (0: no managed pool, instances get none).")
    var macPoolSize = 4096

    @Option(help: "HTTP port of the REST gateway.")
    var httpPort = 8090

    @Option(help: "TLS port of the control plane (0 picks a free one).")
    var controlPlanePort = 0

    @Option(help: "Root token for the REST API (generated when omitted).")
    var rootToken: String?

    @Option(help: "File holding the root token (keeps it off the command line; or set BERTH_ROOT_TOKEN).")
    var rootTokenFile: String?

    @Flag(help: "Serve the REST API without authentication.")
    var noAuth = false

    @Option(help: "Data directory (a fresh temporary one when omitted).")
    var dataDir: String?

    @Option(help: "Simulated VM boot time in milliseconds.")
    var bootTimeMs = 200

    @Option(help: "Share of simulated starts that fail, 0.0–1.0.")
    var failureRate = 0.0

    @Flag(help: "Check controller permissions of API keys and certificates (root may do everything).")
    var authorization = false

    @Flag(help: "Also check resource permissions on nodes and templates; implies --authorization.")
    var resourceManagement = false

    @Flag(
        help:
            "Run instances as real host processes (the process driver: startup scripts and save image act on real files) instead of simulating them."
    )
    var processNodes = false

    @Option(help: "With --process-nodes: the command each instance runs (sh -c; $INSTANCE_IP is its own address).")
    var vmCommand: String?

    @OptionGroup var oidc: OIDCOptions

    @Option(help: "Port of the control plane's Prometheus endpoint on loopback (0 picks a free one).")
    var metricsPort = 0

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "notice"

    @OptionGroup var logFormatOption: LogFormatOption

    @OptionGroup var configFile: ConfigFileOption

    func validate() throws {
        if let rootToken = try SecretFile.resolve(rootToken, file: rootTokenFile, option: "root-token"), rootToken.count < 10 {
            throw ValidationError("--root-token must be at least 10 characters")
        }
        guard (0...1).contains(failureRate) else { throw ValidationError("--failure-rate must be between 0 and 1") }
        guard (1...15_000).contains(maxNodes) else { throw ValidationError("--max-nodes must be between 1 and 15000") }
        guard (1...maxNodes).contains(nodes) else {
            throw ValidationError("--nodes must be between 1 and \(maxNodes) (raise --max-nodes for more)")
        }
        guard (0...(1 << 24)).contains(macPoolSize) else {
            throw ValidationError("--mac-pool-size must be between 0 and 16777216")
        }
    }

    func run() async throws {
        LogSetup.bootstrap(Logger.Level(rawValue: logLevel) ?? .notice, format: logFormatOption.logFormat)
        // Every session holds a descriptor: take the hard limit, not the default 1,024.
        ProcessLimits.raiseOpenFileLimit()
        var options = DevCluster.Options()
        options.nodes = nodes
        options.httpPort = httpPort
        options.controlPlanePort = controlPlanePort
        options.rootToken = try SecretFile.resolve(rootToken, file: rootTokenFile, option: "root-token")
        options.authDisabled = noAuth
        options.oidc = oidc.configuration
        options.dataDirectory = dataDir.map { URL(directoryPath: $0) }
        options.bootTime = .milliseconds(bootTimeMs)
        options.failureRate = failureRate
        options.authorization = authorization || resourceManagement
        options.resourceManagement = resourceManagement
        options.processDriver = processNodes
        options.vmCommand = vmCommand
        options.metricsPort = metricsPort
        options.macRange = macPoolSize == 0 ? nil : 0x001C_4200_0000...(0x001C_4200_0000 + UInt64(macPoolSize) - 1)
        let cluster = DevCluster(options: options)
        try await RunService.run(label: "berth.dev") {
            try await cluster.run { [processNodes] endpoints in Self.printBanner(endpoints, processNodes: processNodes)
            }
        }
    }

    static func printBanner(_ endpoints: DevCluster.Endpoints, processNodes: Bool = false) {
        let url = "http://127.0.0.1:\(endpoints.httpPort)"
        let auth = endpoints.rootToken.map { "-u root:\($0) " } ?? ""
        var lines = [
            "",
            "Berth dev cluster is up.",
            "  REST API        \(url)",
            "  Dashboard       \(url)/  (log in with the root token)",
            "  Root token      \(endpoints.rootToken ?? "(authentication off)")",
            "  Control plane   127.0.0.1:\(endpoints.controlPlanePort)  CA \(endpoints.caPin)",
            "  Data directory  \(endpoints.dataDirectory.path)",
            "  Metrics         \(endpoints.metricsPort.map { "http://127.0.0.1:\($0)/metrics (control plane), " } ?? "")\(url)/metrics (gateway)",
            "  Nodes           \(endpoints.nodeIDs.count) \(processNodes ? "running host processes" : "simulated"): \(endpoints.nodeIDs.joined(separator: ", "))",
            "",
            "Templates (vmid  name  arch  tags):",
        ]
        for seed in SeedTemplates.all {
            lines.append("  \(seed.id)  \(seed.name)  \(seed.arch)  \(seed.tags.joined(separator: ", "))")
        }
        let vmid = SeedTemplates.all[1].id
        lines += [
            "",
            "Try:",
            "  curl -s \(auth)\(url)/api/v1/vm -d '{\"vmid\": \"\(vmid)\"}'",
            "  curl -s \(auth)\(url)/api/v1/vm",
            "  curl -s \(auth)\(url)/api/v1/node",
            "  curl -s \(auth)-X DELETE \(url)/api/v1/vm -d '{\"id\": \"<instance id>\"}'",
            "",
            "Ctrl-C stops everything.",
            "",
        ]
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
