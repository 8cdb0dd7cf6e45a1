import BerthTestSupport
import ControlPlane
import NIOCore
import Testing
import WireProtocol

/// The template-content messages on a raw node connection: requests the control plane
/// cannot serve get an error answer and the connection stays; a malformed one closes
/// that connection only.
@Suite struct ContentProtocolTests {
    @Test func unservableRequestsAreAnsweredAndMalformedOnesCloseOnlyThatConnection() async throws {
        let cp = try await TestControlPlane.start()
        let enrolled = try await cp.enroll(name: "raw")
        let connection = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        let unknownHash = try #require(ChunkHash(bytes: [UInt8](repeating: 7, count: 32)))
        // A chunk request whose hash is 5 bytes long: not a ChunkHash, so not a valid frame.
        var malformed = PayloadWriter()
        malformed.write(1, UInt64(3))
        malformed.write(2, bytes: [1, 2, 3, 4, 5])
        let frames = try await RawConnections.exchange(
            connection,
            send: [
                Hello().frame(),
                ManifestRequest(requestID: 1, templateID: "nope", tag: "").frame(),
                ChunkRequest(requestID: 2, hash: unknownHash).frame(),
                Frame(type: .chunkRequest, payload: ByteBuffer(bytes: malformed.bytes)),
                Ping(nonce: 9).frame(),
            ]
        )
        #expect(frames.first?.type == .welcome)
        let manifest = try ManifestResponse(
            payload: try #require(frames.first { $0.type == .manifestResponse }).payload
        )
        #expect(manifest.requestID == 1)
        #expect(manifest.manifest == nil)
        #expect(manifest.error.contains("No such template"))
        let chunk = try ChunkData(payload: try #require(frames.first { $0.type == .chunkData }).payload)
        #expect(chunk.requestID == 2 && chunk.data.isEmpty && chunk.error.contains("not stored"))
        // The malformed frame ends this connection with an error frame; the ping after it is never answered.
        #expect(frames.last?.type == .error)
        #expect(!frames.contains { $0.type == .pong })

        // The server still serves everyone else.
        let again = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        let second = try await again.executeThenClose { inbound, outbound in
            try await outbound.write(Hello().frame())
            var iterator = inbound.makeAsyncIterator()
            return try await iterator.next()
        }
        #expect(second?.type == .welcome)
        await cp.stop()
    }
}
