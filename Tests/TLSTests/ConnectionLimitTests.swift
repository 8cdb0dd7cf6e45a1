import BerthTestSupport
import ControlPlane
import NIOCore
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
        let status = try await gateway.client.call(.status, principal: .root, body: Empty())
        #expect(status.status == .ok)
        // Authenticated connections leave the count.
        #expect(cp.controlPlane.admission.statistics.unauthenticated <= 20)
        #expect(cp.controlPlane.admission.statistics.authenticated >= 2)
        await agent.stop()
        await gateway.stop()
        for connection in connections { try? await connection.close() }
        await cp.stop()
    }
}
