import ArgumentParser
import Foundation
import Logging
import TLSTransport

/// `berth sim`: a fleet of simulated nodes in one process, for benchmarks.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run many simulated zero-boot nodes in one process, each with its own enrolled identity and mTLS session.",
        discussion: """
            Runs on the control plane's host: it mints its join tokens through the control \
            plane's data directory (as `berth token create` does), then enrolls each node \
            through the real join path and keeps the identities in --state-dir, so a second \
            run reconnects the same nodes without enrolling again.
            """
    )

    @Option(help: "Control plane address, host:port; several replicas as host:port,host:port (tried in turn).")
    var server: ControlPlaneList

    @Option(help: "The control plane's data directory (to mint join tokens).")
    var dataDir: String

    @OptionGroup var database: DatabaseOption

    @Option(help: "Where the nodes' identities and caches are kept between runs.")
    var stateDir: String

    @Option(help: "Number of nodes.")
    var nodes = 100

    @Option(help: "Maximum VMs per node.")
    var maxVms = 10

    @Option(help: "Simulated boot time in milliseconds.")
    var bootTimeMs = 0

    @Option(help: "Enrollments in flight at once.")
    var enrollInFlight = 64

    @Option(help: "Node names are <prefix>-<index>.")
    var namePrefix = "sim"

    @Flag(help: "Dial every node from one address (the system's choice) instead of one loopback address per node.")
    var sharedSource = false

    @Option(help: "Log level of the agents.")
    var logLevel = "warning"

    func validate() throws {
        guard nodes >= 1 else { throw ValidationError("--nodes must be at least 1") }
        guard maxVms >= 1 else { throw ValidationError("--max-vms must be at least 1") }
    }

    func run() async throws {
        LogSetup.bootstrap(Logger.Level(rawValue: logLevel) ?? .warning)
        let limit = ProcessLimits.raiseOpenFileLimit() ?? 0
        if limit < nodes + 64 {
            throw CommandFailure("\(nodes) nodes need as many open files; the limit is \(limit)")
        }
        let fleet = SimulatedFleet(
            options: .init(
                host: server.first.host,
                port: server.first.port,
                otherControlPlanes: server.others,
                controlPlaneData: URL(directoryPath: dataDir),
                databaseLocation: database.location,
                nodes: nodes,
                stateDirectory: URL(directoryPath: stateDir),
                namePrefix: namePrefix,
                maxVMs: maxVms,
                bootTime: .milliseconds(bootTimeMs),
                enrollInFlight: enrollInFlight,
                sharedSource: sharedSource
            ),
            logger: Logger(label: "berth.sim")
        )
        try await RunService.run(label: "berth.sim", cancelOnShutdown: true) { try await fleet.run() }
    }
}
