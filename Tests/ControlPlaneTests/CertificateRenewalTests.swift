import BerthTestSupport
@testable import ControlPlane
import Foundation
import NodeAgent
import Persistence
import RESTGateway
import Synchronization
import TLSTransport
import Testing
import WireProtocol
import X509

/// Nodes and gateways renew their certificates over the connection they have, at about two
/// thirds of the lifetime, with certificates that live seconds instead of months.
@Suite struct CertificateRenewalTests {
    @Test func sessionsSurviveSeveralRenewalsAndReconnectWithTheNewCertificates() async throws {
        // Long enough that a busy CI machine (the whole suite at once on two cores) still
        // renews and reconnects well inside it; three renewals take about 23 s.
        let lifetime = 12.0
        var cp = try await TestControlPlane.start {
            $0.nodeCertificateValidity = lifetime
            $0.gatewayCertificateValidity = lifetime
        }
        try await TestTemplates.seed(cp.database)
        let enrolled = try await cp.enroll(name: "mini")
        let originalSerial = enrolled.identity.leaf.serialHex
        let directory = TestPaths.temporaryDirectory("node")
        try enrolled.write(to: directory)
        let originalKey = try Data(contentsOf: directory.appendingPathComponent("node.key"))
        var roomy = SimulatedDriver.Configuration.fast
        roomy.maxVMCount = 10
        let node = cp.startAgent(enrolled, name: "mini", driver: roomy) { $0.certificateDirectory = directory }
        try await node.waitConnected()
        let gatewayDirectory = TestPaths.temporaryDirectory("gateway")
        let gateway = try await cp.gatewayClient(name: "gw-renewing", validity: lifetime) {
            $0.certificateDirectory = gatewayDirectory
        }

        // Three renewals each, over the one connection each already has; work goes on between.
        let events = cp.controlPlane.events.subscribe()
        var serials: [String] = []
        for round in 1...3 {
            let renewed = try await node.wait(for: { if case .certificateRenewed = $0 { true } else { false } }, timeout: 30)
            guard case .certificateRenewed(let serial) = renewed else { continue }
            serials.append(serial)
            let id = try await gateway.startOne()
            try await events.instances([id], reach: .started, timeout: 20)
            let logs = cp.logs
            try await withTimeout(30, "gateway renewal \(round)") {
                await logs.waitForLines(count: round, ["renewed certificate", "berth://gateway/gw-renewing"])
            }
        }
        #expect(Set(serials).count == 3 && !serials.contains(originalSerial))
        #expect(await node.agent.connections == 1, "a renewal must not reconnect")
        #expect(await gateway.client.isConnected)
        // The first certificates have expired by now: only renewed ones can connect again.
        #expect(enrolled.identity.leaf.notValidAfter < Date())

        // On disk: the chain is the newest certificate, the key has not changed.
        let saved = try EnrolledNode.read(from: directory)
        let newest = await node.agent.identity.leaf
        #expect(saved.identity.leaf.serialHex == newest.serialHex)
        #expect(try Data(contentsOf: directory.appendingPathComponent("node.key")) == originalKey)
        let savedGateway = try CertificateAuthority.readCertificate(
            from: gatewayDirectory.appendingPathComponent("gateway.crt")
        )
        #expect(PeerIdentity(certificate: savedGateway) == PeerIdentity(role: .gateway, id: "gw-renewing"))
        #expect(savedGateway.notValidAfter > Date())
        // `ca status` counts each subject once, by its newest certificate.
        let inForce = try await cp.database.certificatesInForce(now: BerthDatabase.nowMicros())
        #expect(inForce.first { $0.role == "node" }?.count == 1)

        // A restart drops both connections; they come back with the renewed certificates.
        cp = try await cp.restart {
            $0.nodeCertificateValidity = lifetime
            $0.gatewayCertificateValidity = lifetime
        }
        try await node.waitConnected(timeout: 20)
        let after = cp.controlPlane.events.subscribe()
        // Each call waits up to 5 s for the gateway's connection, which may be in its backoff.
        var started: String?
        for _ in 0..<6 where started == nil { started = try? await gateway.startOne() }
        let id = try #require(started, "the gateway did not reconnect with its renewed certificate")
        try await after.instances([id], reach: .started, timeout: 20)
        #expect(!cp.logs.contains("revoked"))

        await gateway.stop()
        await node.stop()
        await cp.stop()
    }

    @Test func revokingTheRenewedCertificateEndsTheSessionThatObtainedIt() async throws {
        // 10 s lifetimes: one renewal at 6-7 s, the next only 6-7 s after it, so a test
        // slowed down by a loaded machine still revokes the certificate the session holds
        // (with 3 s, a second renewal and a reconnect on it could come first).
        let cp = try await TestControlPlane.start {
            $0.nodeCertificateValidity = 10
            $0.revocationPollInterval = 0.2
        }
        let node = cp.startAgent(try await cp.enroll(name: "leaky"), name: "leaky")
        try await node.waitConnected()
        let renewed = try await node.wait(for: { if case .certificateRenewed = $0 { true } else { false } }, timeout: 30)
        guard case .certificateRenewed(let serial) = renewed else { return }
        // The session still runs on the certificate it connected with; the new one leaked.
        try await cp.database.revokeCertificates(serial: serial, reason: "key leaked", now: BerthDatabase.nowMicros())
        _ = try await node.wait(for: { if case .disconnected = $0 { true } else { false } }, timeout: 20)
        await node.stop()
        await cp.stop()
    }

    @Test func aRenewalIsForTheConnectionsIdentityAndABadRequestIsAnsweredNotFatal() async throws {
        let cp = try await TestControlPlane.start()
        let enrolled = try await cp.enroll(name: "honest")
        // The identity comes from the connection, never from the request: a CSR naming the
        // node, renewed on a gateway's connection, still names the gateway.
        let answer = await cp.controlPlane.enrollment.renew(
            CertificateRenewal(csrDER: try NodeKey().makeCSR(nodeName: enrolled.nodeID)),
            for: PeerIdentity(role: .gateway, id: "gw"),
            replacing: ""
        )
        let leaf = try Certificate(derEncoded: answer.certificateDER)
        #expect(PeerIdentity(certificate: leaf) == PeerIdentity(role: .gateway, id: "gw"))
        // Garbage is answered with a reason; the peer keeps its certificate and tries later.
        let refused = await cp.controlPlane.enrollment.renew(
            CertificateRenewal(csrDER: [1, 2, 3]),
            for: PeerIdentity(role: .node, id: enrolled.nodeID),
            replacing: ""
        )
        #expect(refused.certificateDER.isEmpty && refused.error.contains("not valid"))
        await cp.stop()
    }
}
