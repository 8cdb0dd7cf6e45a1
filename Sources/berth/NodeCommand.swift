import ArgumentParser
import Foundation
import Logging
import NodeAgent
import TLSTransport
import WireProtocol

/// `berth node`: the agent on a build host.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Join a node and run its agent; list, drain, configure and delete nodes through a gateway.",
        subcommands: [Join.self, Run.self, List.self, Show.self, Drain.self, Config.self, Delete.self],
        defaultSubcommand: Run.self
    )

    struct Join: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enroll this node: make a key, send a CSR with the join token, save the certificate."
        )

        @Option(help: "Control plane address, host:port.")
        var server: HostPort

        @Option(
            name: [.customLong("join-token"), .customLong("token")],
            help: "Join token from `berth token create` (or BERTH_JOIN_TOKEN, or --join-token-file)."
        )
        var joinToken: String?

        @Option(help: "File holding the join token (keeps it off the command line).")
        var joinTokenFile: String?

        @Option(help: "CA hash printed with the token (sha256:...).")
        var caHash: String

        @Option(help: "Directory for the node's key and certificates.")
        var dataDir: String

        @Option(help: "Node name (defaults to the host name).")
        var name: String?

        @OptionGroup var configFile: ConfigFileOption

        func run() async throws {
            LogSetup.bootstrap(.info)
            guard let pin = CAPin(caHash) else {
                throw ValidationError("--ca-hash must look like sha256:<64 hex digits>")
            }
            guard let token = try SecretFile.resolve(joinToken, file: joinTokenFile, option: "join-token") else {
                throw ValidationError("a join token is required: --join-token-file, BERTH_JOIN_TOKEN or --join-token")
            }
            let name = self.name ?? ProcessInfo.processInfo.hostName
            do {
                let enrolled = try await NodeEnrollment.join(
                    host: server.host,
                    port: server.port,
                    token: token,
                    pin: pin,
                    nodeName: name
                )
                let directory = URL(directoryPath: dataDir)
                try enrolled.write(to: directory)
                print("joined as node \(enrolled.nodeID); identity saved in \(directory.path)")
            } catch let error as NodeAgentError {
                throw CommandFailure("join failed: \(error.reason)")
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the node agent (after `berth node join`).")

        @Option(help: "Control plane address, host:port; several replicas as host:port,host:port (tried in turn).")
        var server: ControlPlaneList

        @Option(help: "Directory written by `berth node join`.")
        var dataDir: String

        @Option(help: "Node name reported to the control plane.")
        var name: String?

        @Option(help: "Driver: simulated, or process (a real host process per instance; startup scripts run with sh).")
        var driver = "simulated"

        @Option(help: "process driver: working directory for instances and templates (default: <data-dir>/work).")
        var workDir: String?

        @Option(help: "process driver: the command each instance runs (sh -c).")
        var vmCommand: String?

        @Option(help: "Simulated boot time in milliseconds.")
        var bootTimeMs = 300

        @Option(help: "Share of simulated starts that fail, 0.0–1.0.")
        var failureRate = 0.0

        @Option(help: "Maximum VMs at once.")
        var maxVms = 2

        @Option(help: "Architecture reported by the simulated driver.")
        var arch = "amd64"

        @Option(help: "A VLAN id the node offers (repeatable).")
        var vlan: [String] = []

        @Option(help: "A USB device attached to the node, as group=id, e.g. iphone7=00008030-001 (repeatable).")
        var usb: [String] = []

        @Option(help: "Shell command run on `PUT /api/v1/node/update` (e.g. a package upgrade).")
        var updateCommand: String?

        @Option(help: "Log level.")
        var logLevel = "info"

        @OptionGroup var logFormatOption: LogFormatOption

        @OptionGroup var configFile: ConfigFileOption

        func run() async throws {
            LogSetup.bootstrap(Logger.Level(rawValue: logLevel) ?? .info, format: logFormatOption.logFormat)
            // Every session holds a descriptor: take the hard limit, not the default 1,024.
            ProcessLimits.raiseOpenFileLimit()
            guard driver == "simulated" || driver == "process" else {
                throw ValidationError("unknown driver \(driver); available: simulated, process")
            }
            let directory = URL(directoryPath: dataDir)
            let enrolled = try EnrolledNode.read(from: directory)
            var driverConfiguration = SimulatedDriver.Configuration()
            driverConfiguration.bootTime = .milliseconds(bootTimeMs)
            driverConfiguration.failureRate = failureRate
            driverConfiguration.maxVMCount = maxVms
            driverConfiguration.arch = arch
            let devices = try usb.map { entry -> USBDevice in
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw ValidationError("--usb takes group=id, got \(entry)")
                }
                return USBDevice(name: parts[0], id: parts[1])
            }
            driverConfiguration.vlans = vlan
            driverConfiguration.usbDevices = devices
            var configuration = NodeAgent.Configuration(
                host: server.first.host,
                port: server.first.port,
                nodeName: name ?? ProcessInfo.processInfo.hostName,
                identity: enrolled.identity,
                trustRoot: enrolled.caCertificate
            )
            configuration.otherControlPlanes = server.others
            configuration.stateFile = directory.appendingPathComponent("applied-command")
            configuration.cacheDirectory = directory.appendingPathComponent("cache", isDirectory: true)
            configuration.certificateDirectory = directory
            configuration.updateCommand = updateCommand
            let instanceDriver: any InstanceDriver
            if driver == "process" {
                var processConfiguration = ProcessDriver.Configuration(
                    root: workDir.map { URL(directoryPath: $0) } ?? directory.appendingPathComponent("work")
                )
                processConfiguration.maxVMCount = maxVms
                processConfiguration.vlans = vlan
                processConfiguration.usbDevices = devices
                if let vmCommand { processConfiguration.vmCommand = vmCommand }
                instanceDriver = ProcessDriver(configuration: processConfiguration)
            } else {
                instanceDriver = SimulatedDriver(configuration: driverConfiguration)
            }
            let agent = NodeAgent(configuration: configuration, driver: instanceDriver)
            try await RunService.run(label: "berth.node", cancelOnShutdown: true) { await agent.run() }
        }
    }
}
