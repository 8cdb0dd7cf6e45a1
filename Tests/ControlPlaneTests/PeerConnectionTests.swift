import BerthTestSupport
import NIOCore
import Testing
import WireProtocol

@testable import ControlPlane

/// Connections are served by channel handlers: frames that need no suspension are handled
/// on the event loop, the rest by a drain task that exists only while there is work.
@Suite struct PeerConnectionTests {
    /// Heartbeats that flip `updating` need the fleet (the drain task); the others are
    /// answered inline. Sent as one flood, their acknowledgements still come back in order:
    /// an inline answer never overtakes queued work, and a flood deep enough to hold reads
    /// resumes them.
    @Test func heartbeatsAreAnsweredInOrderWhetherInlineOrQueued() async throws {
        let cp = try await TestControlPlane.start()
        let enrolled = try await cp.enroll(name: "flood")
        let connection = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        let count: UInt64 = 600
        try await connection.executeThenClose { inbound, outbound in
            let acknowledged = try await withTimeout(60, "every heartbeat to be acknowledged") {
                try await outbound.write(Hello().frame())
                var frames = inbound.makeAsyncIterator()
                guard await NodeSessionRaceTests.welcomed(&frames) else { return [UInt64]() }
                var flood: [Frame] = []
                for sequence in 1...count {
                    // Flips every 40: each flip is a fleet call (and a journal write).
                    flood.append(Heartbeat(sequence: sequence, updating: sequence / 40 % 2 == 1).frame())
                }
                try await outbound.write(contentsOf: flood)
                var acknowledged: [UInt64] = []
                while acknowledged.count < count, let frame = try await frames.next() {
                    if frame.type == .heartbeatAck {
                        acknowledged.append(try HeartbeatAck(payload: frame.payload).sequence)
                    }
                }
                return acknowledged
            }
            #expect(acknowledged == Array(1...count))
        }
        await cp.stop()
    }

    /// The mailbox holds reads once `highWater` items wait, resumes them at `lowWater`, and
    /// asks for a drain task only when none runs.
    @Test func theMailboxHoldsAndResumesReads() {
        let mailbox = ConnectionMailbox()
        #expect(mailbox.post(.closed))  // the first post starts a drain
        #expect(!mailbox.shouldHoldRead())
        for _ in 1..<ConnectionMailbox.highWater { #expect(!mailbox.post(.closed)) }
        #expect(mailbox.shouldHoldRead())
        var resumedAt: Int?
        var drained = 0
        while true {
            let (work, resume) = mailbox.next()
            if resume, resumedAt == nil { resumedAt = ConnectionMailbox.highWater - drained - 1 }
            guard work != nil else { break }
            drained += 1
        }
        #expect(drained == ConnectionMailbox.highWater)
        #expect(resumedAt == ConnectionMailbox.lowWater)
        #expect(!mailbox.shouldHoldRead())
        #expect(mailbox.post(.closed))  // drained: the next post starts a new task
    }

    /// No task waits for an idle node session, and stopping the control plane closes it.
    @Test func anIdleSessionIsClosedWhenTheControlPlaneStops() async throws {
        let cp = try await TestControlPlane.start()
        let enrolled = try await cp.enroll(name: "idle")
        let connection = try await RawConnections.framed(
            port: cp.port,
            identity: enrolled.identity,
            trustRoot: enrolled.caCertificate
        )
        try await connection.executeThenClose { inbound, outbound in
            let ended = try await withTimeout(30, "the connection to end when the control plane stops") {
                try await outbound.write(Hello().frame())
                var frames = inbound.makeAsyncIterator()
                guard await NodeSessionRaceTests.welcomed(&frames) else { return false }
                await cp.stop()
                do {
                    while try await frames.next() != nil {}
                } catch {}
                return true
            }
            #expect(ended)
        }
    }
}
