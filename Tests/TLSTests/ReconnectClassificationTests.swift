import Foundation
import NIOCore
import TLSTransport
import Testing

@testable import NodeAgent

/// Which failures make a node redial within a second (path loss) and which back off with
/// the fleet-wide jittered backoff (the control plane answered).
@Suite struct ReconnectClassificationTests {
    @Test func silenceAndTimeoutsArePathLoss() {
        #expect(NodeAgent.isPathLoss(IOError(errnoCode: ETIMEDOUT, reason: "read")))
        #expect(NodeAgent.isPathLoss(IOError(errnoCode: EHOSTUNREACH, reason: "connect")))
        #expect(NodeAgent.isPathLoss(ChannelError.connectTimeout(.seconds(2))))
        #expect(NodeAgent.isPathLoss(TLSTransportError(.peerSilent, "no welcome")))
    }

    /// A control plane killed or restarted resets every session at once; if each node took
    /// that for path loss, the whole fleet would redial the restarted process within a second.
    @Test func aResetOrARefusalBacksOff() {
        #expect(!NodeAgent.isPathLoss(IOError(errnoCode: ECONNRESET, reason: "read")))
        #expect(!NodeAgent.isPathLoss(IOError(errnoCode: EPIPE, reason: "write")))
        #expect(!NodeAgent.isPathLoss(IOError(errnoCode: ECONNREFUSED, reason: "connect")))
        #expect(!NodeAgent.isPathLoss(ChannelError.eof))
    }
}
