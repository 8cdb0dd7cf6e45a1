import ControlPlane
import Foundation
import Logging
import NodeAgent
import Persistence
import RESTGateway
import TLSTransport
import WireProtocol

/// Everything in one process: a control plane, a gateway and simulated nodes, wired over
/// real loopback TLS exactly as separate processes would be. `berth dev` runs it, and the
/// end-to-end tests use it.
public struct DevCluster: Sendable {
    public struct Options: Sendable {
        public var nodes = 2
        public var httpHost = "127.0.0.1"
        public var httpPort = 8090
        /// 0 picks a free port.
        public var controlPlanePort = 0
        /// Generated when `nil` (unless `authDisabled`).
        public var rootToken: String?
        public var authDisabled = false
        /// A temporary directory when `nil`.
        public var dataDirectory: URL?
        public var bootTime: Duration = .milliseconds(200)
        public var pullTime: Duration = .milliseconds(300)
        public var failureRate = 0.0
        public var heartbeatInterval = 5.0
        public var offlineTimeout = 15.0
        public var authorization = false
        /// The managed MAC pool (4096 addresses by default, as a demonstration).
        public var macRange: ClosedRange<UInt64>? = 0x001C_4200_0000...0x001C_4200_0FFF
        public var resourceManagement = false
        /// Run each instance as a real host process (the `process` driver) instead of simulating it.
        public var processDriver = false
        /// With the process driver: the command each instance runs (`sh -c`); the driver's
        /// default (a process that stays up) when `nil`.
        public var vmCommand: String?
        /// The control plane's Prometheus endpoint on loopback (0: a free port; `nil`: off).
        public var metricsPort: Int? = 0
        /// OIDC bearer tokens on the REST API (`--oidc-issuer`); off when `nil`.
        public var oidc: OIDCConfiguration?

        public init() {}
    }

    /// Where the running cluster can be reached.
    public struct Endpoints: Sendable {
        public var httpPort: Int
        public var controlPlanePort: Int
        public var rootToken: String?
        public var dataDirectory: URL
        public var caPin: CAPin
        public var nodeIDs: [String]
        /// The control plane's metrics port, when served.
        public var metricsPort: Int?
    }

    public let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger = Logger(label: "berth.dev")) {
        self.options = options
        self.logger = logger
    }

    /// Starts everything, calls `onReady` once the API answers and every node is
    /// connected, and runs until cancelled or shut down gracefully.
    public func run(onReady: @escaping @Sendable (Endpoints) async -> Void) async throws {
        do {
            try await runCluster(onReady: onReady)
        } catch is ClusterStopped {
            return
        }
    }

    private struct ClusterStopped: Error {}

    private func runCluster(onReady: @escaping @Sendable (Endpoints) async -> Void) async throws {
        let directory = DataDirectory(
            options.dataDirectory
                ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                    "berth-dev-\(RandomID.hex(8))"
                )
        )
        if !directory.isInitialized { try directory.initialize() }
        let database = try directory.openDatabase()
        var configuration = ControlPlaneConfiguration()
        configuration.port = options.controlPlanePort
        configuration.authorization = options.authorization
        configuration.macRange = options.macRange
        configuration.resourceManagement = options.resourceManagement
        configuration.heartbeatInterval = options.heartbeatInterval
        configuration.offlineTimeout = options.offlineTimeout
        let controlPlane = try await ControlPlane(
            configuration: configuration,
            database: database,
            authority: try directory.loadAuthority(),
            serverIdentity: try directory.loadServerIdentity(),
            logger: Logger(label: "berth.controlplane")
        )
        try await SeedTemplates.seed(controlPlane)
        let controlPlanePort = try await controlPlane.bind()
        let rootToken = options.authDisabled ? nil : (options.rootToken ?? Self.generateRootToken())

        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await controlPlane.run() }
            var metricsPort: Int?
            if let port = options.metricsPort {
                let endpoint = MetricsEndpoint(controlPlane: controlPlane, port: port, logger: Logger(label: "berth.metrics"))
                let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
                group.addTask {
                    defer { continuation.finish() }
                    try await endpoint.run { continuation.yield($0) }
                }
                var iterator = ports.makeAsyncIterator()
                guard let bound = await iterator.next() else { return }
                metricsPort = bound
            }

            var agents: [NodeAgent] = []
            for index in 1...max(1, options.nodes) {
                let enrolled = try await enrollNode(
                    index: index,
                    directory: directory,
                    controlPlane: controlPlane,
                    port: controlPlanePort
                )
                var driverConfiguration = SimulatedDriver.Configuration()
                driverConfiguration.bootTime = options.bootTime
                driverConfiguration.pullTime = options.pullTime
                driverConfiguration.failureRate = options.failureRate
                driverConfiguration.arch = index % 2 == 1 ? "arm64" : "amd64"
                // Something to try /api/v1/vlan and usb_device with: every node offers two VLANs,
                // the first node has two iPhones attached.
                driverConfiguration.vlans = ["12", "55"]
                if index == 1 {
                    driverConfiguration.usbDevices = [
                        USBDevice(name: "iphone", id: "iphone-\(index)-1"),
                        USBDevice(name: "iphone", id: "iphone-\(index)-2"),
                    ]
                }
                var agentConfiguration = NodeAgent.Configuration(
                    host: "127.0.0.1",
                    port: controlPlanePort,
                    nodeName: "sim-node-\(index)",
                    identity: enrolled.identity,
                    trustRoot: enrolled.caCertificate
                )
                agentConfiguration.backoff = Backoff(base: .milliseconds(100), maximum: .seconds(5))
                let nodeDirectory = directory.url.appendingPathComponent("nodes/node-\(index)", isDirectory: true)
                agentConfiguration.cacheDirectory = nodeDirectory.appendingPathComponent("cache", isDirectory: true)
                let driver: any InstanceDriver
                if options.processDriver {
                    var process = ProcessDriver.Configuration(root: nodeDirectory)
                    process.vlans = driverConfiguration.vlans
                    process.usbDevices = driverConfiguration.usbDevices
                    if let command = options.vmCommand { process.vmCommand = command }
                    driver = ProcessDriver(configuration: process)
                } else {
                    driver = SimulatedDriver(configuration: driverConfiguration)
                }
                let agent = NodeAgent(
                    configuration: agentConfiguration,
                    driver: driver,
                    logger: Logger(label: "berth.node.\(index)")
                )
                agents.append(agent)
                group.addTask { await agent.run() }
            }

            let gatewayIdentity = try await controlPlane.issueGatewayIdentity(name: "dev-gateway")
            let client = ControlPlaneClient(
                configuration: .init(
                    host: "127.0.0.1",
                    port: controlPlanePort,
                    identity: gatewayIdentity,
                    trustRoot: controlPlane.authority.certificate
                ),
                logger: Logger(label: "berth.gateway.client")
            )
            var gatewayConfiguration = GatewayConfiguration()
            gatewayConfiguration.host = options.httpHost
            gatewayConfiguration.port = options.httpPort
            gatewayConfiguration.rootToken = rootToken
            gatewayConfiguration.oidc = options.oidc
            let gateway = Gateway(
                configuration: gatewayConfiguration,
                client: client,
                logger: Logger(label: "berth.gateway")
            )
            let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
            group.addTask {
                // However the server ends (a port already taken, say), the wait for its port
                // below must end too, or the process would hang without a word.
                defer { portContinuation.finish() }
                try await gateway.run { port in portContinuation.yield(port) }
                // The HTTP server stopped (graceful shutdown): stop the nodes and the rest too.
                throw ClusterStopped()
            }
            var iterator = ports.makeAsyncIterator()
            guard let httpPort = await iterator.next() else { return }

            var nodeIDs: [String] = []
            for agent in agents {
                for await notification in agent.notifications {
                    if case .connected(let nodeID) = notification {
                        nodeIDs.append(nodeID)
                        break
                    }
                }
            }
            await onReady(
                Endpoints(
                    httpPort: httpPort,
                    controlPlanePort: controlPlanePort,
                    rootToken: rootToken,
                    dataDirectory: directory.url,
                    caPin: controlPlane.authority.pin,
                    nodeIDs: nodeIDs,
                    metricsPort: metricsPort
                )
            )
        }
    }

    /// Joins node `index` through the real enrollment path, or reuses its saved identity.
    private func enrollNode(
        index: Int,
        directory: DataDirectory,
        controlPlane: ControlPlane,
        port: Int
    ) async throws -> EnrolledNode {
        let nodeDirectory = directory.url.appendingPathComponent("nodes/sim-node-\(index)")
        if let saved = try? EnrolledNode.read(from: nodeDirectory),
            try await controlPlane.database.node(id: saved.nodeID) != nil
        {
            return saved
        }
        let token = try await controlPlane.enrollment.createToken(ttl: 300, description: "berth dev")
        let enrolled = try await NodeEnrollment.join(
            host: "127.0.0.1",
            port: port,
            token: token.description,
            pin: controlPlane.authority.pin,
            nodeName: "sim-node-\(index)"
        )
        try enrolled.write(to: nodeDirectory)
        return enrolled
    }

    static func generateRootToken() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var random = SystemRandomNumberGenerator()
        return String((0..<24).map { _ in alphabet.randomElement(using: &random)! })
    }
}
