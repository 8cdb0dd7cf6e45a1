import BerthTestSupport
import ControlPlane
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NodeAgent
import TLSTransport
import Testing
import WireProtocol

/// The node port's caps and deadlines for connections that have not authenticated, with
/// small configured caps so that a test needs tens of connections, not tens of thousands.
@Suite struct ConnectionLimitTests {
    @Test func aConnectionThatNeverHandshakesIsClosedAtTheDeadline() async throws {
        let cp = try await TestControlPlane.start { $0.handshakeTimeout = 0.3 }
        let idle = try await RawConnections.plainTCP(port: cp.port)
        // Plain TCP, no ClientHello: the server must close it on its own.
        try await withTimeout(10, "the server to close a connection that never handshakes") {
            try await idle.closeFuture.get()
        }
        #expect(cp.controlPlane.admission.statistics.timedOut == 1)
        #expect(cp.controlPlane.admission.statistics.unauthenticated == 0)
        await cp.stop()
    }

    @Test func aConnectionThatHandshakesButSendsNoFrameIsClosedAtTheDeadline() async throws {
        let cp = try await TestControlPlane.start { $0.firstFrameTimeout = 0.3 }
        let silent = try await RawConnections.rawTLS(port: cp.port)
        try await withTimeout(10, "the server to close a TLS connection with no first frame") {
            await RawConnections.waitUntilClosed(silent)
        }
        #expect(cp.controlPlane.admission.statistics.timedOut == 1)
        await cp.stop()
    }

    @Test func oneSourceIsCappedAndTheRestAreClosedAtOnce() async throws {
        let cp = try await TestControlPlane.start {
            $0.maxUnauthenticatedPerSource = 5
            $0.maxUnauthenticatedConnections = 100
            $0.handshakeTimeout = 60
        }
        var flood: [any Channel] = []
        for _ in 0..<30 { flood.append(try await RawConnections.plainTCP(port: cp.port, from: "127.0.0.7")) }
        let connections = flood
        // 25 are refused at accept and see their connection end; 5 are held.
        try await withTimeout(90, "25 refused connections to be closed") {
            await RawConnections.waitUntilClosed(25, of: connections)
        }
        let statistics = cp.controlPlane.admission.statistics
        #expect(statistics.refused == 25)
        #expect(statistics.unauthenticated == 5)
        // Another source is not affected.
        let other = try await RawConnections.plainTCP(port: cp.port, from: "127.0.0.8")
        let enrolled = try await cp.enroll(name: "from-elsewhere")
        #expect(!enrolled.nodeID.isEmpty)
        try await other.close()
        await cp.stop()
    }

    /// A node given a source address dials from it, as each node of a real fleet dials from
    /// its own host (the fleet simulator does this): the cap on 127.0.0.1 does not touch it.
    @Test func aNodeDialsFromItsSourceAddress() async throws {
        let cp = try await TestControlPlane.start {
            $0.maxUnauthenticatedPerSource = 1
            $0.handshakeTimeout = 60
        }
        let enrolled = try await cp.enroll(name: "own-source")
        // 127.0.0.1's one unauthenticated slot is taken and stays taken.
        let holder = try await RawConnections.plainTCP(port: cp.port, from: "127.0.0.1")
        try await withTimeout(30, "the holder to be admitted") {
            while cp.controlPlane.admission.statistics.unauthenticated < 1 { await Task.yield() }
        }
        let events = cp.controlPlane.events.subscribe()
        let agent = cp.startAgent(enrolled, name: "own-source") {
            $0.sourceAddress = try? SocketAddress(ipAddress: "127.0.4.1", port: 0)
        }
        try await withTimeout(60, "the node to be Active") {
            for await event in events {
                if case .node(enrolled.nodeID, "Active") = event { return }
            }
        }
        #expect(cp.controlPlane.admission.statistics.refused == 0)
        await agent.stop()
        try await holder.close()
        await cp.stop()
    }

    @Test func aFloodFromManySourcesCannotShutOutARealNodeOrGateway() async throws {
        let cp = try await TestControlPlane.start {
            $0.maxUnauthenticatedPerSource = 10
            $0.maxUnauthenticatedConnections = 20
            $0.handshakeTimeout = 60
        }
        let enrolled = try await cp.enroll(name: "real-node")
        let gateway = try await cp.gatewayClient()
        // 80 idle connections from 8 sources: four times the total cap.
        var flood: [any Channel] = []
        for index in 0..<80 {
            flood.append(try await RawConnections.plainTCP(port: cp.port, from: "127.0.1.\(1 + index % 8)"))
        }
        let connections = flood
        try await withTimeout(90, "60 evicted connections to be closed") {
            await RawConnections.waitUntilClosed(60, of: connections)
        }
        let statistics = cp.controlPlane.admission.statistics
        #expect(statistics.unauthenticated == 20)
        #expect(statistics.evicted == 60)

        // With the cap full of idle connections, the real node connects and the gateway answers.
        let events = cp.controlPlane.events.subscribe()
        let agent = cp.startAgent(enrolled, name: "real-node")
        try await events.node(enrolled.nodeID, becomes: "Active")
        let status = try await gateway.client.call(RPCCatalog.status, principal: .root, body: Empty())
        #expect(status.status == .ok)
        // Authenticated connections leave the count.
        #expect(cp.controlPlane.admission.statistics.unauthenticated <= 20)
        #expect(cp.controlPlane.admission.statistics.authenticated >= 2)
        await agent.stop()
        await gateway.stop()
        for connection in connections { try? await connection.close() }
        await cp.stop()
    }

    /// The handshake gate: with two handshakes in progress (idle connections that never send
    /// a ClientHello), the listener stops accepting, so a real node's connection waits in the
    /// kernel's accept queue; it is accepted, in order, as soon as a slot frees.
    @Test func pastTheHandshakeGateConnectionsWaitInTheAcceptQueueUntilASlotFrees() async throws {
        let cp = try await TestControlPlane.start {
            $0.maxHandshakes = 2
            $0.handshakeStallAge = 600
            $0.handshakeTimeout = 600
        }
        let enrolled = try await cp.enroll(name: "queued-node")
        let first = try await RawConnections.plainTCP(port: cp.port, from: "127.0.2.1")
        let second = try await RawConnections.plainTCP(port: cp.port, from: "127.0.2.2")
        try await withTimeout(30, "both idle connections to hold the gate") {
            while cp.controlPlane.admission.statistics.handshaking < 2 { try await Task.sleep(for: .milliseconds(10)) }
        }
        let agent = cp.startAgent(enrolled, name: "queued-node")
        // The kernel holds the node's connection: accepted by TCP, not by the control plane.
        try await withTimeout(30, "the node's connection to wait in the accept queue") {
            while try Self.acceptQueueLength(port: cp.port) < 1 { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(await agent.agent.connections == 0)
        #expect(cp.controlPlane.admission.statistics.acceptPauses >= 1)

        let events = cp.controlPlane.events.subscribe()
        try await first.close()
        try await events.node(enrolled.nodeID, becomes: "Active", timeout: 30)
        let statistics = cp.controlPlane.admission.statistics
        #expect(statistics.stalled == 0)
        #expect(statistics.evicted == 0)
        #expect(statistics.timedOut == 0)
        #expect(second.isActive, "the other idle connection is left alone: it had not stalled yet")
        try? await second.close()
        await agent.stop()
        await cp.stop()
    }

    /// A listener woken once for several queued connections accepts only what the gate
    /// allows: its loop is held while three connections reach the kernel's queue, so a
    /// single wake finds all three; two are accepted and the third stays queued.
    @Test func aListenerWokenForSeveralConnectionsStopsAtTheGate() async throws {
        let authority = try CertificateAuthority.create(commonName: "Gate")
        let identity = try authority.issueIdentity(PeerIdentity(role: .controlPlane, id: "gate"), validity: 3600)
        let sslContext = try NIOSSLContext(
            configuration: try TLSConfigurations.controlPlaneServer(identity: identity, trustRoot: authority.certificate)
        )
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let admission = ConnectionAdmission(limits: .init(handshakes: 2, stallAge: .seconds(600)))
        let server = try await FramedChannel.bindServer(
            host: "127.0.0.1", port: 0, sslContext: sslContext, group: loop, admission: admission
        ) { _ in }
        let port = try #require(server.channel.localAddress?.port)

        let held = DispatchSemaphore(value: 0)
        // Connect only once the loop is inside the task: a connection that arrives before it
        // would be accepted first (I/O runs before tasks), leaving two in the queue, not three.
        await withCheckedContinuation { (entered: CheckedContinuation<Void, Never>) in
            loop.next().execute {
                entered.resume()
                held.wait()
            }
        }
        var raw: [any Channel] = []
        for index in 1...3 { raw.append(try await RawConnections.plainTCP(port: port, from: "127.0.5.\(index)")) }
        try await withTimeout(30, "three connections in the accept queue") {
            while try Self.acceptQueueLength(port: port) < 3 { try await Task.sleep(for: .milliseconds(10)) }
        }
        held.signal()
        try await withTimeout(30, "the gate to fill") {
            while admission.statistics.handshaking < 2 { try await Task.sleep(for: .milliseconds(10)) }
        }
        // A task queued now runs after the wake that filled the gate has finished.
        try await loop.next().submit {}.get()
        #expect(admission.statistics.handshaking == 2)
        #expect(try Self.acceptQueueLength(port: port) == 1)
        #expect(admission.statistics.acceptPauses >= 1)

        // A slot frees: the queued one is accepted and the gate is full again.
        try await raw[0].close()
        try await withTimeout(30, "the queued connection to be accepted") {
            while try Self.acceptQueueLength(port: port) > 0 { try await Task.sleep(for: .milliseconds(10)) }
        }
        try await loop.next().submit {}.get()
        #expect(admission.statistics.handshaking == 2)
        for connection in raw.dropFirst() { try? await connection.close() }
        try await server.channel.close()
        try await loop.shutdownGracefully()
    }

    /// A connection stays in the gate after its TLS handshake until its hello authenticates
    /// it: a storm's finished handshakes are not counted out and then evicted while their
    /// hellos wait (performance.md, the 10,000-node failover).
    @Test func aConnectionPastItsHandshakeHoldsTheGateUntilItsHelloAuthenticatesIt() async throws {
        let cp = try await TestControlPlane.start {
            $0.maxHandshakes = 1
            $0.handshakeStallAge = 600
            $0.handshakeTimeout = 600
            $0.firstFrameTimeout = 600
        }
        let silent = try await cp.enroll(name: "silent")
        let queued = try await cp.enroll(name: "queued")
        // mTLS completed with a valid node certificate, and then no hello.
        let connection = try await RawConnections.framed(
            port: cp.port,
            identity: silent.identity,
            trustRoot: silent.caCertificate
        )
        #expect(cp.controlPlane.admission.statistics.handshaking == 1)
        let agent = cp.startAgent(queued, name: "queued")
        try await withTimeout(30, "the node's connection to wait in the accept queue") {
            while try Self.acceptQueueLength(port: cp.port) < 1 { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(await agent.agent.connections == 0)

        let events = cp.controlPlane.events.subscribe()
        try await connection.channel.close()
        try await events.node(queued.nodeID, becomes: "Active", timeout: 30)
        let statistics = cp.controlPlane.admission.statistics
        #expect(statistics.evicted == 0 && statistics.stalled == 0 && statistics.timedOut == 0)
        #expect(statistics.handshaking == 0)
        await agent.stop()
        await cp.stop()
    }

    /// Idle connections cannot hold the gate shut: while it is full, a handshake older than
    /// the stall age is closed, and the queued node gets in.
    @Test func aStalledHandshakeIsClosedWhenTheGateIsFull() async throws {
        let cp = try await TestControlPlane.start {
            $0.maxHandshakes = 2
            $0.handshakeStallAge = 0.3
            $0.handshakeTimeout = 600
        }
        let enrolled = try await cp.enroll(name: "behind-idlers")
        let idle = [
            try await RawConnections.plainTCP(port: cp.port, from: "127.0.3.1"),
            try await RawConnections.plainTCP(port: cp.port, from: "127.0.3.2"),
        ]
        let events = cp.controlPlane.events.subscribe()
        let agent = cp.startAgent(enrolled, name: "behind-idlers")
        try await events.node(enrolled.nodeID, becomes: "Active", timeout: 30)
        try await withTimeout(30, "a stalled connection to be closed") {
            await RawConnections.waitUntilClosed(1, of: idle)
        }
        #expect(cp.controlPlane.admission.statistics.stalled >= 1)
        #expect(cp.controlPlane.admission.statistics.timedOut == 0)
        for connection in idle { try? await connection.close() }
        await agent.stop()
        await cp.stop()
    }

    /// A crowd of nodes connecting at once through a gate of four: every one is served,
    /// none times out or is evicted.
    @Test func aCrowdOfNodesPassesANarrowGate() async throws {
        let cp = try await TestControlPlane.start {
            $0.maxHandshakes = 4
            $0.handshakeStallAge = 60
        }
        var enrolled: [EnrolledNode] = []
        for index in 0..<16 { enrolled.append(try await cp.enroll(name: "crowd-\(index)")) }
        let nodes = enrolled
        let events = cp.controlPlane.events.subscribe()
        let agents = nodes.enumerated().map { cp.startAgent($0.element, name: "crowd-\($0.offset)") }
        try await withTimeout(120, "all 16 nodes to be Active") {
            var active: Set<String> = []
            for await event in events {
                if case .node(let id, "Active") = event { active.insert(id) }
                if active.count == nodes.count { return }
            }
        }
        let statistics = cp.controlPlane.admission.statistics
        #expect(statistics.timedOut == 0)
        #expect(statistics.evicted == 0)
        #expect(statistics.stalled == 0)
        #expect(statistics.handshaking == 0)
        for agent in agents { await agent.stop() }
        await cp.stop()
    }

    /// Connections waiting in the accept queue of the IPv4 listener on `port`
    /// (`/proc/net/tcp`: rx_queue of a LISTEN socket).
    static func acceptQueueLength(port: Int) throws -> Int {
        // Read to the end: String(contentsOfFile:) stops after one page of a /proc file, and
        // with the whole suite's sockets open the listener's line can lie past it.
        guard let file = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return 0 }
        defer { try? file.close() }
        let table = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
        let wanted = String(format: ":%04X", port)
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[1].hasSuffix(wanted), fields[3] == "0A" else { continue }
            return Int(fields[4].split(separator: ":")[1], radix: 16) ?? 0
        }
        return 0
    }
}
