import BerthTestSupport
import ControlPlane
import Foundation
import Testing
import WireProtocol

/// `berth ca revoke` (issue 11): a gateway certificate revoked by the CLI, on the database of
/// a running control plane, is cut off and refused from then on.
@Suite struct CertificateRevocationTests {
    @Test func aGatewayRevokedByTheCLIIsDisconnectedAndRefused() async throws {
        let cp = try await TestControlPlane.start { $0.revocationPollInterval = 0.05 }
        let gateway = try await cp.gatewayClient(name: "edge-1")
        let other = try await cp.gatewayClient(name: "edge-2")
        #expect(try await gateway.client.call(RPCCatalog.status, principal: .root, body: Empty()).status == .ok)

        let revoke = try await BerthProcess.run([
            "ca", "revoke", "--data-dir", cp.directory.url.path, "--gateway", "edge-1", "--reason", "host retired",
        ])
        #expect(revoke.status == 0, "\(revoke.stderr)")
        #expect(revoke.stdout.contains("revoked gateway certificate"))

        // The running control plane learns of it on its own, closes the gateway's connection
        // and refuses its reconnect; its calls fail from then on.
        try await withTimeout(30, "the revoked gateway to be closed") {
            await cp.logs.waitForLine("closing a revoked gateway's connection", "edge-1")
        }
        try await withTimeout(30, "the reconnect to be refused") {
            await cp.logs.waitForLine("refused a revoked certificate", "edge-1")
        }
        #expect((try? await gateway.client.call(RPCCatalog.status, principal: .root, body: Empty()))?.status != .ok)
        // Another gateway is untouched.
        #expect(try await other.client.call(RPCCatalog.status, principal: .root, body: Empty()).status == .ok)
        let events = try await cp.database.events(kindPrefix: "certificate.revoked")
        #expect(events.contains { $0.message.contains("host retired") })

        // Nothing left to revoke: a clear error, non-zero.
        let again = try await BerthProcess.run([
            "ca", "revoke", "--data-dir", cp.directory.url.path, "--gateway", "edge-1",
        ])
        #expect(again.status != 0)
        #expect(again.stderr.contains("no unrevoked certificate"))
        await gateway.stop()
        await other.stop()
        await cp.stop()
    }
}
