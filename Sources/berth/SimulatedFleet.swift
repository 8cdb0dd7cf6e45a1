import ControlPlane
import Foundation
import Logging
import NIOCore
import NIOPosix
import NodeAgent
import Synchronization
import TLSTransport

/// Many zero-boot simulated nodes in one process (`berth sim`): each a real ``NodeAgent``
/// with its own key and certificate, enrolled through real join tokens, holding its own
/// mTLS session and speaking the real protocol. For fleet-scale benchmarks on one host.
struct SimulatedFleet: Sendable {
    struct Options: Sendable {
        var host: String
        var port: Int
        /// Further control-plane replicas, tried in turn (docs/ha.md).
        var otherControlPlanes: [ControlPlaneAddress] = []
        /// The control plane's data directory: join tokens are minted through it, as
        /// `berth token create` does.
        var controlPlaneData: URL
        /// The control plane's PostgreSQL database, when its state is there.
        var databaseLocation: String?
        var nodes: Int
        /// Keeps enrolled identities between runs (`node-<i>/`, as `berth node join` writes).
        var stateDirectory: URL
        var namePrefix = "sim"
        var maxVMs = 10
        var bootTime: Duration = .zero
        var enrollInFlight = 64
        /// Every node dials from the system's choice of address (on loopback, one address
        /// for all) instead of one loopback address each.
        var sharedSource = false
    }

    let options: Options
    let logger: Logger

    /// Enrolls the nodes the state directory lacks, then runs every agent until cancelled,
    /// printing how many are connected whenever that changes (at most twice a second).
    func run() async throws {
        let started = ContinuousClock.now
        let enrolled = try await enrollAll()
        Self.say("sim: \(enrolled.count) nodes enrolled (\(elapsed(since: started))); connecting")
        let connected = ConnectedNodes()
        let connectStart = ContinuousClock.now
        let executors = MultiThreadedEventLoopGroup.singleton.makeIterator().map(EventLoopTaskExecutor.init)
        try await withThrowingDiscardingTaskGroup { group in
            for (index, node) in enrolled.enumerated() {
                // The agent, its notifications and its connections share one event loop.
                let executor = executors[index % executors.count]
                let agent = makeAgent(index: index, node: node, loop: executor.loop)
                group.addTask(executorPreference: executor) { await agent.run() }
                group.addTask(executorPreference: executor) {
                    for await note in agent.notifications {
                        switch note {
                        case .connected: connected.nodes.withLock { _ = $0.insert(index) }
                        case .disconnected, .refused: connected.nodes.withLock { _ = $0.remove(index) }
                        case .pingIntervalChanged, .certificateRenewed: break
                        }
                    }
                }
            }
            group.addTask {
                // Reports each change of the count, at most twice a second, with the time to
                // all-connected: from when connecting began, or from the first drop.
                var last = -1
                var since = connectStart
                var whole = false
                while !Task.isCancelled {
                    let count = connected.nodes.withLock { $0.count }
                    if count != last {
                        var note = ""
                        if count == enrolled.count, !whole {
                            note =
                                " (all, \(elapsed(since: since)) after \(last < 0 || since == connectStart ? "connecting began" : "the first drop"))"
                            whole = true
                        } else if count < enrolled.count, whole {
                            whole = false
                            since = ContinuousClock.now
                        }
                        Self.say("sim: connected \(count)/\(enrolled.count)\(note); rss \(Self.residentMB()) MB")
                        last = count
                    }
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
        }
    }

    private func makeAgent(index: Int, node: EnrolledNode, loop: any EventLoop) -> NodeAgent {
        var driver = SimulatedDriver.Configuration()
        driver.bootTime = options.bootTime
        driver.pullTime = .zero
        driver.maxVMCount = options.maxVMs
        driver.arch = "amd64"
        let directory = options.stateDirectory.appendingPathComponent("node-\(index)")
        var configuration = NodeAgent.Configuration(
            host: options.host,
            port: options.port,
            nodeName: "\(options.namePrefix)-\(index)",
            identity: node.identity,
            trustRoot: node.caCertificate
        )
        configuration.otherControlPlanes = options.otherControlPlanes
        configuration.sourceAddress = options.sharedSource ? nil : Self.sourceAddress(index: index, dialling: options.host)
        configuration.stateFile = directory.appendingPathComponent("applied-command")
        configuration.cacheDirectory = directory.appendingPathComponent("cache", isDirectory: true)
        return NodeAgent(
            configuration: configuration,
            driver: SimulatedDriver(configuration: driver),
            logger: logger,
            group: loop
        )
    }

    /// Node `index`'s own loopback address (127.1.0.0 upward), when the control plane is on
    /// loopback: real nodes dial from hosts of their own, and 10,000 nodes on one address
    /// would share its 28,000 ephemeral ports. A restart's redials then reuse ports still
    /// in TIME-WAIT, and a new SYN that lands on a connection the other end still holds
    /// is answered with a challenge ACK and a reset: thousands of failed attempts a
    /// reconnect that a real fleet never makes.
    static func sourceAddress(index: Int, dialling host: String) -> SocketAddress? {
        guard host.hasPrefix("127."), (try? SocketAddress(ipAddress: host, port: 0)) != nil,
            index >= 0, index < 0xFE_0000
        else { return nil }
        let octets = [1 + (index >> 16), (index >> 8) & 0xFF, index & 0xFF]
        return try? SocketAddress(ipAddress: "127.\(octets[0]).\(octets[1]).\(octets[2])", port: 0)
    }

    /// Reads the identities already enrolled, and enrolls the rest through join tokens,
    /// `enrollInFlight` at a time.
    private func enrollAll() async throws -> [EnrolledNode] {
        var nodes: [EnrolledNode?] = Array(repeating: nil, count: options.nodes)
        for index in 0..<options.nodes {
            nodes[index] = try? EnrolledNode.read(from: options.stateDirectory.appendingPathComponent("node-\(index)"))
        }
        let missing = nodes.indices.filter { nodes[$0] == nil }
        guard !missing.isEmpty else { return nodes.compactMap { $0 } }
        let directory = DataDirectory(options.controlPlaneData)
        let authority = try directory.loadAuthority()
        let enrollment = EnrollmentService(
            database: try await directory.openDatabase(location: options.databaseLocation, logger: logger),
            authority: authority,
            certificateValidity: ControlPlaneConfiguration().nodeCertificateValidity,
            logger: logger
        )
        let tokens = try await enrollment.createTokens(count: missing.count, ttl: 3600, description: "berth sim")
        Self.say("sim: enrolling \(missing.count) nodes")
        let options = options
        try await withThrowingTaskGroup(of: (Int, EnrolledNode).self) { group in
            var next = 0
            func addNext() {
                guard next < missing.count else { return }
                let index = missing[next]
                let token = tokens[next].description
                next += 1
                group.addTask {
                    let node = try await NodeEnrollment.join(
                        host: options.host,
                        port: options.port,
                        token: token,
                        pin: authority.pin,
                        nodeName: "\(options.namePrefix)-\(index)"
                    )
                    let directory = options.stateDirectory.appendingPathComponent("node-\(index)")
                    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                    try node.write(to: directory)
                    return (index, node)
                }
            }
            for _ in 0..<max(1, options.enrollInFlight) { addNext() }
            var done = 0
            while let (index, node) = try await group.next() {
                nodes[index] = node
                done += 1
                if done % 1000 == 0 { Self.say("sim: enrolled \(done)/\(missing.count)") }
                addNext()
            }
        }
        return nodes.compactMap { $0 }
    }

    private func elapsed(since start: ContinuousClock.Instant) -> String {
        let duration = ContinuousClock.now - start
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: "%.1f s", seconds)
    }

    /// Writes a progress line at once: scripts read them through a pipe, where `print`
    /// would hold them in its buffer.
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// This process's resident memory, in MiB (from /proc).
    static func residentMB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kb = Int(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "")
        else { return 0 }
        return kb / 1024
    }
}

/// The indexes of the simulated nodes connected now.
final class ConnectedNodes: Sendable {
    let nodes = Mutex(Set<Int>())
}
