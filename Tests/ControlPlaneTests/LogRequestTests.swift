import BerthTestSupport
import ControlPlane
import NIOCore
import TLSTransport
import Testing
import WireProtocol

/// A node's log answers are matched by node and request (issue 11, "Also fix"): request
/// ids count up, so another node could guess one and answer first.
@Suite struct LogRequestTests {
    typealias Frames = NIOAsyncChannelInboundStream<Frame>.AsyncIterator

    /// The next frame of `type`, skipping others (pings, welcome fields, commands).
    static func next(_ type: MessageType, from frames: inout Frames) async throws -> Frame {
        while let frame = try await frames.next() {
            if frame.type == type { return frame }
        }
        throw TestFailure("the connection ended before a \(type)")
    }

    @Test func aNodeCannotAnswerALogRequestSentToAnotherNode() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let owner = try await cp.enroll(name: "owner")
        let intruder = try await cp.enroll(name: "intruder")
        let gateway = try await cp.gatewayClient()
        let ownerConnection = try await RawConnections.framed(
            port: cp.port,
            identity: owner.identity,
            trustRoot: owner.caCertificate
        )
        let intruderConnection = try await RawConnections.framed(
            port: cp.port,
            identity: intruder.identity,
            trustRoot: intruder.caCertificate
        )
        let served: [UInt8] = try await ownerConnection.executeThenClose { ownerInbound, ownerOutbound in
            try await intruderConnection.executeThenClose { intruderInbound, intruderOutbound in
                var ownerFrames = ownerInbound.makeAsyncIterator()
                var intruderFrames = intruderInbound.makeAsyncIterator()
                try await ownerOutbound.write(Hello().frame())
                _ = try await Self.next(.welcome, from: &ownerFrames)
                try await intruderOutbound.write(Hello().frame())
                _ = try await Self.next(.welcome, from: &intruderFrames)

                // An instance on the owner; its start command is all the owner needs to see.
                let instanceID = try await gateway.startOne(node: owner.nodeID)
                _ = try await Self.next(.nodeCommand, from: &ownerFrames)
                let body = LogRequest(requestID: 0, instanceID: instanceID, offset: 0, limit: 4096)
                async let answer = gateway.client.call(RPCCatalog.instanceLog, principal: .root, body: body)
                let request = try LogRequest(payload: try await Self.next(.logRequest, from: &ownerFrames).payload)

                // The intruder answers first, with the owner's request id. Its heartbeat's
                // ack comes after the control plane has handled the forged chunk.
                try await intruderOutbound.write(
                    LogChunk(requestID: request.requestID, totalSize: 6, data: Array("forged".utf8)).frame()
                )
                try await intruderOutbound.write(Heartbeat(sequence: 1).frame())
                _ = try await Self.next(.heartbeatAck, from: &intruderFrames)

                try await ownerOutbound.write(
                    LogChunk(requestID: request.requestID, totalSize: 4, data: Array("real".utf8)).frame()
                )
                let response = try await answer
                try #require(response.status == .ok, "\(response.message)")
                return try LogChunk(bytes: response.body).data
            }
        }
        #expect(served == Array("real".utf8))
        await gateway.stop()
        await cp.stop()
    }
}
