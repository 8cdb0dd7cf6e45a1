import ControlPlane
import Foundation
import Logging
import NodeAgent
import Persistence
import RESTGateway
import TLSTransport
import WireProtocol

/// A real control plane on a loopback port with a real SQLite file in a temporary directory,
/// or with its state in a real PostgreSQL database (``TestStore``).
public final class TestControlPlane: Sendable {
    public let directory: DataDirectory
    /// The PostgreSQL database, when the state is there rather than in the directory's file.
    public let store: TestStore?
    public let controlPlane: ControlPlane
    public let port: Int
    /// Everything the control plane logged.
    public let logs: LogCapture
    let task: Task<Void, any Error>

    public var database: BerthDatabase { controlPlane.database }
    public var authority: CertificateAuthority { controlPlane.authority }

    init(
        directory: DataDirectory,
        store: TestStore?,
        controlPlane: ControlPlane,
        port: Int,
        logs: LogCapture,
        task: Task<Void, any Error>
    ) {
        self.logs = logs
        self.directory = directory
        self.store = store
        self.controlPlane = controlPlane
        self.port = port
        self.task = task
    }

    /// The suite holds thousands of sockets at once; raised once, as every `berth` process does.
    static let descriptorLimit: Int? = ProcessLimits.raiseOpenFileLimit()

    /// Starts a control plane. With `directory` it reopens existing state (a restart); with
    /// a `store` on PostgreSQL, the state is in its database.
    public static func start(
        directory: DataDirectory? = nil,
        store: TestStore? = nil,
        port: Int = 0,
        logLevel: Logger.Level = .info,
        configure: (inout ControlPlaneConfiguration) -> Void = { _ in }
    ) async throws -> TestControlPlane {
        _ = Self.descriptorLimit
        let directory = directory ?? DataDirectory(TestPaths.temporaryDirectory("cp"))
        if !directory.isInitialized { try directory.initialize() }
        var configuration = ControlPlaneConfiguration()
        configuration.heartbeatInterval = 1
        configuration.offlineTimeout = 10
        configure(&configuration)
        let store = store?.engine == .postgres ? store : nil
        configuration.contentDirectory = configuration.contentDirectory ?? directory.chunksDirectory
        let logs = LogCapture(level: logLevel)
        // Tests restart control planes on their port (``restart(configure:)``), so a port of
        // their own is taken below the ephemeral range (``TestPorts``); if another test took
        // the same one in the meantime, another is tried.
        var attempt = 0
        while true {
            attempt += 1
            configuration.port = port == 0 ? TestPorts.freeOutsideEphemeralRange() : port
            let controlPlane = try await ControlPlane(
                configuration: configuration,
                database: try await store?.open() ?? directory.openDatabase(),
                authority: try directory.loadAuthority(),
                serverIdentity: try directory.loadServerIdentity(),
                logger: logs.logger("berth.test.controlplane")
            )
            let bound: Int
            do {
                bound = try await controlPlane.bind()
            } catch  where port == 0 && attempt < 5 && "\(error)".contains("already in use") {
                continue
            }
            let task = Task { try await controlPlane.run() }
            return TestControlPlane(
                directory: directory,
                store: store,
                controlPlane: controlPlane,
                port: bound,
                logs: logs,
                task: task
            )
        }
    }

    /// Stops serving: closes the listener and every connection.
    public func stop() async {
        task.cancel()
        _ = await task.result
    }

    /// Stops, then starts a new control plane on the same files and port.
    public func restart(
        configure: (inout ControlPlaneConfiguration) -> Void = { _ in }
    ) async throws -> TestControlPlane {
        await stop()
        return try await Self.start(directory: directory, store: store, port: port, configure: configure)
    }

    /// Enrolls a node through the real join path (token, pinned CA, CSR).
    public func enroll(name: String) async throws -> EnrolledNode {
        let token = try await controlPlane.enrollment.createToken(ttl: 60)
        return try await NodeEnrollment.join(
            host: "127.0.0.1",
            port: port,
            token: token.description,
            pin: authority.pin,
            nodeName: name
        )
    }

    /// Starts an agent for an enrolled node; `boot` and `pull` set the simulated driver's times.
    public func startAgent(
        _ enrolled: EnrolledNode,
        name: String,
        driver: SimulatedDriver.Configuration = .fast,
        port: Int? = nil,
        configure: (inout NodeAgent.Configuration) -> Void = { _ in }
    ) -> TestAgent {
        startAgent(
            enrolled,
            name: name,
            using: SimulatedDriver(configuration: driver),
            port: port,
            configure: configure
        )
    }

    /// Starts an agent with any driver (for example a ``ProcessDriver``).
    public func startAgent(
        _ enrolled: EnrolledNode,
        name: String,
        using driver: any InstanceDriver,
        port: Int? = nil,
        configure: (inout NodeAgent.Configuration) -> Void = { _ in }
    ) -> TestAgent {
        var configuration = NodeAgent.Configuration(
            host: "127.0.0.1",
            port: port ?? self.port,
            nodeName: name,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        configuration.backoff = Backoff(base: .milliseconds(20), maximum: .milliseconds(300))
        configure(&configuration)
        let agent = NodeAgent(
            configuration: configuration,
            driver: driver,
            logger: TestLogging.logger("node.\(name)")
        )
        return TestAgent(agent: agent, nodeID: enrolled.nodeID)
    }

    /// A gateway's RPC client, connected with a freshly issued gateway certificate.
    public func gatewayClient(
        name: String = "test-gateway",
        validity: Double = 365 * 86_400,
        configure: (inout ControlPlaneClient.Configuration) -> Void = { _ in }
    ) async throws -> TestGatewayClient {
        let identity = try await controlPlane.issueGatewayIdentity(name: name, validity: validity)
        var configuration = ControlPlaneClient.Configuration(
            host: "127.0.0.1",
            port: port,
            identity: identity,
            trustRoot: authority.certificate
        )
        configure(&configuration)
        let client = ControlPlaneClient(configuration: configuration, logger: TestLogging.logger("gateway.client"))
        let running = TestGatewayClient(client: client, task: Task { await client.run() })
        // As TestGateway: hand the client out once its connection is up (each try waits for it).
        var connected = false
        for _ in 0..<6 where !connected {
            connected = (try? await client.call(RPCCatalog.status, principal: .root, body: Empty()))?.status == .ok
        }
        guard connected else { throw TestTimeout(what: "the gateway client's connection to the control plane") }
        return running
    }
}

/// A running node agent and its task.
public final class TestAgent: Sendable {
    public let agent: NodeAgent
    public let nodeID: String
    let task: Task<Void, Never>

    init(agent: NodeAgent, nodeID: String) {
        self.agent = agent
        self.nodeID = nodeID
        self.task = Task { await agent.run() }
    }

    /// Waits until the agent reports a notification matching `predicate`.
    public func wait(
        for predicate: @escaping @Sendable (NodeAgent.Notification) -> Bool,
        timeout: Double = 10
    ) async throws -> NodeAgent.Notification {
        try await withTimeout(timeout, "agent notification") {
            for await notification in self.agent.notifications where predicate(notification) { return notification }
            throw TestTimeout(what: "agent stream ended")
        }
    }

    public func waitConnected(timeout: Double = 30) async throws {
        _ = try await wait(for: { if case .connected = $0 { true } else { false } }, timeout: timeout)
    }

    public func stop() async {
        task.cancel()
        await task.value
    }
}

/// A gateway RPC client and its connection task.
public final class TestGatewayClient: Sendable {
    public let client: ControlPlaneClient
    let task: Task<Void, Never>

    init(client: ControlPlaneClient, task: Task<Void, Never>) {
        self.client = client
        self.task = task
    }

    public func stop() async {
        task.cancel()
        await task.value
    }

    /// Starts one instance as root and returns its id; a refusal fails with its message.
    public func startOne(template: String = TestTemplates.linux, tag: String? = nil, node: String = "") async throws -> String {
        var request = StartInstancesRequest()
        request.templateID = template
        request.tag = tag
        request.nodeID = node
        let response = try await client.call(RPCCatalog.startInstances, principal: .root, body: request)
        guard response.status == .ok, let id = try IDList(bytes: response.body).ids.first else {
            throw TestFailure("start refused: \(response.status) \(response.message)")
        }
        return id
    }
}

/// A test step that could not go on, with the reason.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension SimulatedDriver.Configuration {
    /// Zero boot and pull time: instances start as fast as the protocol allows.
    public static var fast: SimulatedDriver.Configuration {
        var configuration = SimulatedDriver.Configuration()
        configuration.bootTime = .zero
        configuration.pullTime = .zero
        return configuration
    }
}
