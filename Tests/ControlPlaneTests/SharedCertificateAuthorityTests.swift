import BerthTestSupport
import ControlPlane
import Foundation
import Persistence
import Testing
import TLSTransport

/// Replicas on one PostgreSQL database share one CA, its key sealed under a secret they are
/// all given (issue 15): a node enrolled by one replica connects to another without
/// enrolling again, and the database alone never holds a usable key.
@Suite struct SharedCertificateAuthorityTests {
    static let secret = Array("a replica secret of 32 bytes....".utf8)

    @Test func theKeyOpensOnlyWithItsSecretAndItsCertificate() throws {
        let authority = try CertificateAuthority.create()
        let sealed = try SealedCertificateAuthority.seal(authority, secret: Self.secret)
        #expect(try sealed.open(secret: Self.secret).certificate == authority.certificate)
        #expect(!String(decoding: sealed.sealedKey, as: UTF8.self).contains("PRIVATE KEY"))
        // Another secret, a secret too short, another certificate beside the sealed key.
        let wrong = #expect(throws: TLSTransportError.self) {
            try sealed.open(secret: Array("another secret of the right size".utf8))
        }
        #expect("\(String(describing: wrong))".contains("does not open with this secret"))
        #expect(throws: TLSTransportError.self) { try SealedCertificateAuthority.seal(authority, secret: [1, 2, 3]) }
        var swapped = sealed
        swapped.certificatePEM = try CertificateAuthority.create().certificate.serializeAsPEM().pemString
        #expect(throws: TLSTransportError.self) { try swapped.open(secret: Self.secret) }
        // Each seal has its own salt (and nonce).
        #expect(try SealedCertificateAuthority.seal(authority, secret: Self.secret).salt != sealed.salt)
    }

    @Test func aNodeEnrolledByOneReplicaConnectsToAnotherWithoutEnrollingAgain() async throws {
        let store = try await TestStore(.postgres)
        // The first replica's CA goes into the database.
        let first = DataDirectory(TestPaths.temporaryDirectory("replica-a"))
        let made = try first.initialize()
        let database = try await store.open()
        let stored = try await SharedCertificateAuthority.resolve(database: database, directory: first, secret: Self.secret)
        #expect(stored.certificate == made.certificate)
        let row = try #require(try await database.caMaterial())
        #expect(!String(decoding: row.sealedKey, as: UTF8.self).contains("PRIVATE KEY"))

        // A second replica with an empty data directory takes it from the database.
        let second = DataDirectory(TestPaths.temporaryDirectory("replica-b"))
        let shared = try await SharedCertificateAuthority.resolve(database: database, directory: second, secret: Self.secret)
        try second.initialize(authority: shared)
        #expect(try second.loadAuthority().pin == made.pin)
        // One with a CA of its own is refused, and so is a wrong secret.
        let stranger = DataDirectory(TestPaths.temporaryDirectory("replica-c"))
        try stranger.initialize()
        await #expect(throws: PersistenceError.self) {
            try await SharedCertificateAuthority.resolve(database: database, directory: stranger, secret: Self.secret)
        }
        await #expect(throws: TLSTransportError.self) {
            try await SharedCertificateAuthority.resolve(
                database: database,
                directory: second,
                secret: Array("not the secret it was sealed with".utf8)
            )
        }

        // A node enrolled through the first replica is Active on the second.
        let a = try await TestControlPlane.start(directory: first, store: store)
        try await TestTemplates.seed(a.database)
        let enrolled = try await a.enroll(name: "mini-1")
        await a.stop()
        let b = try await TestControlPlane.start(directory: second, store: store)
        let agent = b.startAgent(enrolled, name: "mini-1")
        try await agent.waitConnected(timeout: 30)
        let gateway = try await b.gatewayClient()
        let events = b.controlPlane.events.subscribe()
        let id = try await gateway.startOne(node: enrolled.nodeID)
        try await events.instances([id], reach: .started, timeout: 30)
        await gateway.stop()
        await agent.stop()
        await b.stop()
    }
}
