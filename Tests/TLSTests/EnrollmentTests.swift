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

/// Enrollment over a real loopback TLS socket: join tokens, CA pinning and CSRs.
@Suite struct EnrollmentTests {
    @Test func joinIssuesANodeCertificateForTheNodesOwnKey() async throws {
        let cp = try await TestControlPlane.start()
        let key = NodeKey()
        let token = try await cp.controlPlane.enrollment.createToken(ttl: 60)
        let enrolled = try await NodeEnrollment.join(
            host: "127.0.0.1",
            port: cp.port,
            token: token.description,
            pin: cp.authority.pin,
            nodeName: "mini-1",
            key: key
        )
        let leaf = enrolled.identity.leaf
        #expect(leaf.publicKey == key.privateKey.publicKey)
        #expect(PeerIdentity(certificate: leaf) == PeerIdentity(role: .node, id: enrolled.nodeID))
        #expect(try leaf.extensions.extendedKeyUsage?.contains(.clientAuth) == true)
        #expect(try leaf.extensions.extendedKeyUsage?.contains(.serverAuth) == false)
        #expect(cp.authority.certificate.publicKey.isValidSignature(leaf.signature, for: leaf))
        #expect(try await cp.database.node(id: enrolled.nodeID)?.name == "mini-1")
        #expect(try await cp.database.certificates(subjectID: enrolled.nodeID).map(\.serial) == [leaf.serialHex])
        await cp.stop()
    }

    @Test func theEnrolledNodeConnectsWithMutualTLS13() async throws {
        let cp = try await TestControlPlane.start()
        let enrolled = try await cp.enroll(name: "mini")
        let connection = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        #expect(try await connection.channel.nioSSL_tlsVersion().get() == .tlsv13)
        let frames = try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(Hello().frame())
            var iterator = inbound.makeAsyncIterator()
            return [try await iterator.next()].compactMap { $0 }
        }
        #expect(frames.first?.type == .welcome)
        #expect(try Welcome(payload: frames[0].payload).peerID == enrolled.nodeID)
        await cp.stop()
    }

    @Test func aTokenWorksOnce() async throws {
        let cp = try await TestControlPlane.start()
        let token = try await cp.controlPlane.enrollment.createToken(ttl: 60)
        _ = try await NodeEnrollment.join(
            host: "127.0.0.1",
            port: cp.port,
            token: token.description,
            pin: cp.authority.pin,
            nodeName: "a"
        )
        let error = await #expect(throws: NodeAgentError.self) {
            _ = try await NodeEnrollment.join(
                host: "127.0.0.1",
                port: cp.port,
                token: token.description,
                pin: cp.authority.pin,
                nodeName: "b"
            )
        }
        #expect(error?.reason.contains("already used") == true)
        // The peer is not told which node used the token; the log is.
        let first = try #require(try await cp.database.nodes().first?.id)
        #expect(error?.reason.contains(first) == false)
        #expect(cp.logs.contains("enrollment refused", "already used"))
        #expect(cp.logs.contains("enrollment refused", first))
        #expect(try await cp.database.nodes().count == 1)
        await cp.stop()
    }

    @Test func anExpiredTokenIsRefused() async throws {
        let cp = try await TestControlPlane.start()
        let token = try await cp.controlPlane.enrollment.createToken(ttl: -1)
        let error = await #expect(throws: NodeAgentError.self) {
            _ = try await NodeEnrollment.join(
                host: "127.0.0.1",
                port: cp.port,
                token: token.description,
                pin: cp.authority.pin,
                nodeName: "a"
            )
        }
        #expect(error?.reason.contains("expired") == true)
        #expect(cp.logs.contains("enrollment refused", "expired"))
        await cp.stop()
    }

    @Test func anUnknownOrMalformedTokenIsRefused() async throws {
        let cp = try await TestControlPlane.start()
        for (token, reason) in [
            ("abcdef.0123456789abcdef", "unknown"), ("not-a-token", "malformed join token"),
        ] {
            let error = await #expect(throws: NodeAgentError.self) {
                _ = try await NodeEnrollment.join(
                    host: "127.0.0.1",
                    port: cp.port,
                    token: token,
                    pin: cp.authority.pin,
                    nodeName: "a"
                )
            }
            #expect(error?.reason.contains(reason) == true)
        }
        await cp.stop()
    }

    @Test func aWrongCAPinRefusesTheServerBeforeTheTokenIsSent() async throws {
        let cp = try await TestControlPlane.start()
        let token = try await cp.controlPlane.enrollment.createToken(ttl: 60)
        let otherCA = try CertificateAuthority.create(commonName: "Impostor")
        await #expect(throws: (any Error).self) {
            _ = try await NodeEnrollment.join(
                host: "127.0.0.1",
                port: cp.port,
                token: token.description,
                pin: otherCA.pin,
                nodeName: "a"
            )
        }
        // The token never reached the server, so it still works with the right pin.
        #expect(try await cp.database.joinToken(id: token.id)?.usedAt == nil)
        _ = try await NodeEnrollment.join(
            host: "127.0.0.1",
            port: cp.port,
            token: token.description,
            pin: cp.authority.pin,
            nodeName: "a"
        )
        await cp.stop()
    }

    @Test func aCSRWhoseSignatureDoesNotVerifyIsRefused() async throws {
        let cp = try await TestControlPlane.start()
        let token = try await cp.controlPlane.enrollment.createToken(ttl: 60)
        var csr = try NodeKey().makeCSR(nodeName: "evil")
        csr[csr.count - 3] ^= 0xFF  // inside the signature
        let connection = try await FramedChannel.connect(
            host: "127.0.0.1",
            port: cp.port,
            configuration: TLSConfigurations.enrollmentClient(),
            pinnedCA: PinnedCAVerifier(pin: cp.authority.pin)
        )
        let frames = try await RawConnections.exchange(
            connection,
            send: [EnrollRequest(token: token.description, csrDER: csr, nodeName: "evil").frame()]
        )
        let error = try ErrorFrame(payload: try #require(frames.first { $0.type == .error }).payload)
        #expect(error.wireError.code == .enrollmentRefused)
        #expect(error.message.contains("signature"))
        // No source file names for an unauthenticated peer.
        #expect(!error.message.contains(".swift"))
        #expect(cp.logs.contains("enrollment refused", "signature"))
        #expect(try await cp.database.joinToken(id: token.id)?.usedAt == nil)
        await cp.stop()
    }

    /// A bad token is refused before the CSR is even parsed: a garbage CSR with a bad
    /// token gets the token's refusal, and no signing work is done.
    @Test func theTokenIsCheckedBeforeTheCSR() async throws {
        let cp = try await TestControlPlane.start()
        let connection = try await FramedChannel.connect(
            host: "127.0.0.1",
            port: cp.port,
            configuration: TLSConfigurations.enrollmentClient(),
            pinnedCA: PinnedCAVerifier(pin: cp.authority.pin)
        )
        let frames = try await RawConnections.exchange(
            connection,
            send: [EnrollRequest(token: "abcdef.0123456789abcdef", csrDER: [1, 2, 3], nodeName: "x").frame()]
        )
        let error = try ErrorFrame(payload: try #require(frames.first { $0.type == .error }).payload)
        #expect(error.message.contains("join token"))
        #expect(!cp.logs.contains("bad CSR"))
        await cp.stop()
    }
}
