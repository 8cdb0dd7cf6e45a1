import ControlPlane
import Foundation
import Logging
import NodeAgent
import Persistence
import RESTGateway
import TLSTransport
import WireProtocol
import X509

/// A control-plane replica on a test's PostgreSQL database, on a fixed loopback port of its
/// own, with its own data directory holding the database's shared CA.
public final class TestReplica: Sendable {
    /// The CA key secret every test replica is given.
    public static let secret = Array("a replica secret of 32 bytes....".utf8)

    public let replica: ControlPlaneReplica
    public let directory: DataDirectory
    public let port: Int
    public let logs: LogCapture
    let roles: AsyncStream<ControlPlaneReplica.Role>
    let task: Task<Void, any Error>

    init(replica: ControlPlaneReplica, directory: DataDirectory, port: Int, logs: LogCapture) {
        self.replica = replica
        self.directory = directory
        self.port = port
        self.logs = logs
        self.roles = replica.roleChanges()
        self.task = Task { try await replica.run() }
    }

    /// Followers look often (a hand-over is quick); the lease stays long enough that a
    /// leader on a loaded test machine (the whole suite on two cores) keeps it.
    public static var quickTiming: ControlPlaneReplica.Timing {
        var timing = ControlPlaneReplica.Timing()
        timing.lease = 6
        timing.renew = 0.5
        timing.retry = 0.3
        return timing
    }

    /// `127.0.0.1:port`, as the lease and redirects name it.
    public var address: ControlPlaneAddress { ControlPlaneAddress(host: "127.0.0.1", port: port) }

    /// Starts a replica on `store`'s database. The first replica of a database stores its
    /// new CA there; later ones take it from there.
    public static func start(
        store: TestStore,
        timing: ControlPlaneReplica.Timing = ControlPlaneReplica.Timing(),
        configure: (inout ControlPlaneConfiguration) -> Void = { _ in }
    ) async throws -> TestReplica {
        let directory = DataDirectory(TestPaths.temporaryDirectory("replica"))
        let database = try await store.open()
        if try await database.caMaterial() == nil { try directory.initialize() }
        let authority = try await SharedCertificateAuthority.resolve(
            database: database,
            directory: directory,
            secret: Self.secret
        )
        if !directory.isInitialized { try directory.initialize(authority: authority) }
        var configuration = ControlPlaneConfiguration()
        configuration.heartbeatInterval = 1
        configuration.offlineTimeout = 10
        configuration.port = TestPorts.freeOutsideEphemeralRange()
        configuration.contentDirectory = directory.chunksDirectory
        configure(&configuration)
        let logs = LogCapture(level: .info)
        let replica = try ControlPlaneReplica(
            configuration: configuration,
            database: database,
            authority: authority,
            serverIdentity: try directory.loadServerIdentity(),
            advertisedAddress: "127.0.0.1:\(configuration.port)",
            timing: timing,
            logger: logs.logger("berth.test.replica")
        )
        return TestReplica(replica: replica, directory: directory, port: configuration.port, logs: logs)
    }

    /// Waits until the replica leads, and returns its control plane.
    @discardableResult
    public func waitLeading(timeout: Double = 30) async throws -> ControlPlane {
        try await waitRole(timeout: timeout) { if case .leading = $0 { true } else { false } }
        guard let controlPlane = replica.controlPlane else { throw TestFailure("leading without a control plane") }
        return controlPlane
    }

    /// Waits until the replica's role matches `predicate` (at once if it does now).
    public func waitRole(timeout: Double = 30, _ predicate: @escaping @Sendable (ControlPlaneReplica.Role) -> Bool) async throws {
        if predicate(replica.role) { return }
        let roles = self.roles
        do {
            try await withTimeout(timeout, "replica role") {
                for await role in roles where predicate(role) { return }
                throw TestTimeout(what: "replica stopped")
            }
        } catch let timeout as TestTimeout {
            // What the replica did, to tell a slow machine from a wrong turn.
            throw TestFailure("\(timeout) (now \(replica.role)); its log:\n" + logs.all.suffix(30).joined(separator: "\n"))
        }
    }

    /// Enrolls a node through this replica (it must lead).
    public func enroll(name: String) async throws -> EnrolledNode {
        guard let controlPlane = replica.controlPlane else { throw TestFailure("enrolling through a follower") }
        let token = try await controlPlane.enrollment.createToken(ttl: 60)
        return try await NodeEnrollment.join(
            host: "127.0.0.1",
            port: port,
            token: token.description,
            pin: replica.authority.pin,
            nodeName: name
        )
    }

    /// Stops the replica as a shutdown would: a leader hands its lease over.
    public func stop() async {
        task.cancel()
        _ = await task.result
    }
}

extension TestAgent {
    /// Starts a simulated node that dials `address` first, then `others` in turn.
    public static func start(
        _ enrolled: EnrolledNode,
        name: String,
        at address: ControlPlaneAddress,
        others: [ControlPlaneAddress]
    ) -> TestAgent {
        var configuration = NodeAgent.Configuration(
            host: address.host,
            port: address.port,
            nodeName: name,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        configuration.otherControlPlanes = others
        configuration.backoff = Backoff(base: .milliseconds(20), maximum: .milliseconds(300))
        let agent = NodeAgent(
            configuration: configuration,
            driver: SimulatedDriver(configuration: .fast),
            logger: TestLogging.logger("node.\(name)")
        )
        return TestAgent(agent: agent, nodeID: enrolled.nodeID)
    }
}

extension TestGateway {
    /// Starts a REST gateway whose client dials `address` first, then `others` in turn.
    public static func start(
        identity: TLSIdentity,
        trustRoot: Certificate,
        at address: ControlPlaneAddress,
        others: [ControlPlaneAddress],
        rootToken: String?
    ) async throws -> TestGateway {
        let client = ControlPlaneClient.toReplicas(identity: identity, trustRoot: trustRoot, at: address, others: others)
        return try await start(client: client, rootToken: rootToken)
    }
}

extension ControlPlaneClient {
    /// A gateway's client that dials `address` first, then `others` in turn.
    static func toReplicas(
        identity: TLSIdentity,
        trustRoot: Certificate,
        at address: ControlPlaneAddress,
        others: [ControlPlaneAddress]
    ) -> ControlPlaneClient {
        var configuration = ControlPlaneClient.Configuration(
            host: address.host,
            port: address.port,
            identity: identity,
            trustRoot: trustRoot
        )
        configuration.otherControlPlanes = others
        return ControlPlaneClient(configuration: configuration, logger: TestLogging.logger("gateway.client"))
    }
}

extension TestGatewayClient {
    /// Starts a gateway's RPC client that dials `address` first, then `others` in turn.
    public static func start(
        identity: TLSIdentity,
        trustRoot: Certificate,
        at address: ControlPlaneAddress,
        others: [ControlPlaneAddress]
    ) -> TestGatewayClient {
        let client = ControlPlaneClient.toReplicas(identity: identity, trustRoot: trustRoot, at: address, others: others)
        return TestGatewayClient(client: client, task: Task { await client.run() })
    }

    /// The ids of every instance the control plane lists.
    public func list() async throws -> [String] {
        let response = try await client.call(RPCCatalog.listInstances, principal: .root, body: InstanceQuery())
        guard response.status == .ok else { throw TestFailure("list refused: \(response.status) \(response.message)") }
        return try InstanceList(bytes: response.body).instances.map(\.instanceID)
    }
}
