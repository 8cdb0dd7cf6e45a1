import BerthTestSupport
import ControlPlane
import Foundation
import NIOCore
import NIOSSL
import NodeAgent
import TLSTransport
import Testing
import WireProtocol
import X509

/// Who may connect, and as what, over real mTLS on loopback.
@Suite struct ConnectionSecurityTests {
    @Test func aCertificateFromAnotherCAIsRefusedInTheHandshake() async throws {
        let cp = try await TestControlPlane.start()
        let otherCA = try CertificateAuthority.create(commonName: "Other")
        let stranger = try otherCA.issueIdentity(PeerIdentity(role: .node, id: "stranger"), validity: 3600)
        // The client trusts the real CA, so only the server's check of the client can fail.
        var identity = stranger
        identity.certificateChain = [stranger.leaf]
        let frames: [Frame]
        do {
            let connection = try await RawConnections.framed(
                port: cp.port,
                identity: identity,
                trustRoot: cp.authority.certificate
            )
            frames = try await RawConnections.exchange(connection, send: [Hello().frame()])
        } catch {
            frames = []
        }
        #expect(!frames.contains { $0.type == .welcome })
        #expect(
            try await withTimeout(5, "handshake failure in the log") {
                while !cp.logs.contains("TLS handshake refused", "CERTIFICATE_VERIFY_FAILED") { await Task.yield() }
                return true
            }
        )
        await cp.stop()
    }

    @Test func helloWithoutAClientCertificateIsRefused() async throws {
        let cp = try await TestControlPlane.start()
        var hello = ByteBuffer()
        Hello().frame().write(into: &hello)
        let frames = try await RawConnections.sendRaw(Array(hello.readableBytesView), port: cp.port)
        let error = try ErrorFrame(payload: try #require(frames.first).payload)
        #expect(error.wireError.code == .unauthenticated)
        #expect(error.message.contains("client certificate"))
        await cp.stop()
    }

    @Test func aTLS12ClientIsRefused() async throws {
        let cp = try await TestControlPlane.start()
        var configuration = TLSConfigurations.enrollmentClient()
        configuration.minimumTLSVersion = .tlsv1
        configuration.maximumTLSVersion = .tlsv12
        var refused = false
        do {
            let connection = try await RawConnections.rawTLS(port: cp.port, configuration: configuration)
            try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: [0, 0, 0, 0]))
                for try await _ in inbound {}
            }
        } catch {
            refused = true
        }
        #expect(refused)
        await cp.stop()
    }

    @Test func aDeletedNodeIsDisconnectedRevokedAndStaysOutAfterARestart() async throws {
        var cp = try await TestControlPlane.start()
        let enrolled = try await cp.enroll(name: "doomed")
        let serial = enrolled.identity.leaf.serialHex
        let node = cp.startAgent(enrolled, name: "doomed")
        try await node.waitConnected()

        try await cp.controlPlane.deleteNode(id: enrolled.nodeID)
        // The live connection is dropped with the reason, and every reconnect is refused.
        _ = try await node.wait(for: {
            if case .refused(let reason) = $0 {
                reason.contains("revoked") || reason.contains("deleted")
            } else {
                false
            }
        })
        _ = try await node.wait(for: {
            if case .refused(let reason) = $0 { reason.contains("certificate \(serial) is revoked") } else { false }
        })
        #expect(cp.logs.contains("refused a revoked certificate", serial))

        // The revocation is durable: a restarted control plane refuses the node too.
        await node.stop()
        cp = try await cp.restart()
        #expect(cp.controlPlane.revocations.isRevoked(serial))
        let again = cp.startAgent(enrolled, name: "doomed")
        _ = try await again.wait(for: {
            if case .refused(let reason) = $0 { reason.contains("revoked") } else { false }
        })
        #expect(cp.logs.contains("refused a revoked certificate", serial))
        await again.stop()
        await cp.stop()
    }

    @Test func aNodeCertificateCannotMakeGatewayCalls() async throws {
        let cp = try await TestControlPlane.start()
        let enrolled = try await cp.enroll(name: "n")
        let connection = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        let frames = try await RawConnections.exchange(
            connection,
            send: [
                Hello().frame(),
                RPCRequest(method: RPCCatalog.listNodes.method, principal: .root, body: IDQuery().encodedBytes()).frame(
                    streamID: 1
                ),
            ]
        )
        #expect(!frames.contains { $0.type == .rpcResponse })
        let error = try ErrorFrame(payload: try #require(frames.last { $0.type == .error }).payload)
        #expect(error.wireError.code == .forbidden)
        #expect(error.message.contains("node certificate cannot make gateway calls"))
        await cp.stop()
    }

    @Test func aGatewayCertificateCannotSpeakForANode() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await cp.controlPlane.issueGatewayIdentity(name: "gw")
        let connection = try await RawConnections.framed(
            port: cp.port,
            identity: gateway,
            trustRoot: cp.authority.certificate
        )
        let event = InstanceEvent(
            epoch: 1,
            sequence: 1,
            status: InstanceStatus(instanceID: "x", state: .started),
            timestampMicros: 1
        )
        let frames = try await RawConnections.exchange(connection, send: [Hello().frame(), event.frame()])
        let error = try ErrorFrame(payload: try #require(frames.last { $0.type == .error }).payload)
        #expect(error.wireError.code == .forbidden)
        await cp.stop()
    }

    @Test func oneNodeCannotReportAnotherNodesInstance() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let events = cp.controlPlane.events.subscribe()
        let victim = cp.startAgent(try await cp.enroll(name: "victim"), name: "victim")
        try await victim.waitConnected()
        let gateway = try await cp.gatewayClient()
        var request = StartInstancesRequest()
        request.templateID = TestTemplates.linux
        let response = try await gateway.client.call(RPCCatalog.startInstances, principal: .root, body: request)
        try #require(response.status == .ok, "\(response.message)")
        let id = try #require(try IDList(bytes: response.body).ids.first)
        try await events.instances([id], reach: .started)

        let attacker = try await cp.enroll(name: "attacker")
        let connection = try await RawConnections.framed(
            port: cp.port,
            identity: attacker.identity,
            trustRoot: attacker.caCertificate
        )
        let forged = InstanceEvent(
            epoch: 9,
            sequence: 1,
            status: InstanceStatus(instanceID: id, state: .error, message: "forged"),
            timestampMicros: 1
        )
        let frames = try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(Hello().frame())
            try await outbound.write(forged.frame())
            var iterator = inbound.makeAsyncIterator()
            var received: [Frame] = []
            while let frame = try await iterator.next() {
                received.append(frame)
                if frame.type == .eventAck { break }
            }
            return received
        }
        #expect(frames.contains { $0.type == .eventAck })
        let row = try #require(try await cp.database.instance(id: id))
        #expect(row.state == "Started")
        #expect(row.nodeId == victim.nodeID)
        #expect(cp.logs.contains("node reported an instance it does not run", attacker.nodeID))
        await gateway.stop()
        await victim.stop()
        await cp.stop()
    }

    @Test func malformedFramesCloseOnlyThatConnection() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let node = cp.startAgent(try await cp.enroll(name: "steady"), name: "steady")
        try await node.waitConnected()

        // A header claiming a 4 GiB frame, then garbage: refused from the header alone.
        let frames = try await RawConnections.sendRaw(
            [0xFF, 0xFF, 0xFF, 0xFF, 0, 1, 0, 0, 0, 0, 0, 0] + Array(repeating: 0xAB, count: 64),
            port: cp.port
        )
        let error = try ErrorFrame(payload: try #require(frames.first).payload)
        #expect(error.wireError.code == .frameTooLarge)
        // An unknown message type as the first frame.
        var unknown = ByteBuffer()
        Frame(type: MessageType(rawValue: 0x7777), payload: ByteBuffer(bytes: [1, 2, 3])).write(into: &unknown)
        let second = try await RawConnections.sendRaw(Array(unknown.readableBytesView), port: cp.port)
        #expect(try ErrorFrame(payload: try #require(second.first).payload).wireError.code == .unexpectedMessage)

        // The server and the existing node connection are unaffected: work still flows.
        let events = cp.controlPlane.events.subscribe()
        let gateway = try await cp.gatewayClient()
        var request = StartInstancesRequest()
        request.templateID = TestTemplates.linux
        let ids = try IDList(
            bytes: try await gateway.client.call(RPCCatalog.startInstances, principal: .root, body: request).body
        ).ids
        try #require(!ids.isEmpty)
        try await events.instances(Set(ids), reach: .started)
        #expect(await node.agent.connections == 1)
        await gateway.stop()
        await node.stop()
        await cp.stop()
    }
}
