import BerthTestSupport
import NIOCore
import NodeAgent
import Testing
import WireProtocol

@testable import ControlPlane

/// Idle sessions are pinged less often as the fleet grows, so their upkeep stays within a
/// budget of pings a second, and nodes follow the interval while connected.
@Suite struct PingScheduleTests {
    @Test func theIntervalGrowsWithTheFleetInStepsUpToTheCeiling() {
        let schedule = PingSchedule(base: 1, budget: 2_000, ceiling: 5, deadAfterPings: 5)
        #expect(schedule.interval(sessions: 0) == 1)
        #expect(schedule.interval(sessions: 2_000) == 1)
        #expect(schedule.interval(sessions: 2_001) == 2)
        #expect(schedule.interval(sessions: 5_000) == 3)
        #expect(schedule.interval(sessions: 10_000) == 5)
        #expect(schedule.interval(sessions: 50_000) == 5)
        // As much silence as configured before a node gives up, and never under two intervals.
        #expect(schedule.deadAfterPings(interval: 1) == 5)
        #expect(schedule.deadAfterPings(interval: 2) == 3)
        #expect(schedule.deadAfterPings(interval: 5) == 2)
        // No budget: the configured interval at any size.
        let fixed = PingSchedule(base: 1, budget: 0, ceiling: 5, deadAfterPings: 5)
        #expect(fixed.interval(sessions: 1_000_000) == 1)
        schedule.update(sessions: 10_000)
        #expect(schedule.current.pingIntervalMillis == 5_000)
        #expect(schedule.current.deadAfterPings == 2)
    }

    @Test func theDefaultsKeepTwoIntervalsOfSilenceUnderTheOfflineTimeout() {
        let fleet = ControlPlaneConfiguration()
        let schedule = PingSchedule(
            base: fleet.pingInterval,
            budget: fleet.pingBudget,
            ceiling: min(fleet.heartbeatInterval, fleet.offlineTimeout / 3),
            deadAfterPings: fleet.nodeDeadAfterPings
        )
        let widest = schedule.interval(sessions: 1_000_000)
        #expect(widest == fleet.heartbeatInterval)
        #expect(Double(schedule.deadAfterPings(interval: widest)) * widest < fleet.offlineTimeout)
    }

    /// A node connected while the fleet was small learns the wider interval from its next
    /// heartbeat ack, over real mTLS; the welcome of a later node carries it already.
    @Test func nodesFollowTheIntervalAsTheFleetGrows() async throws {
        let cp = try await TestControlPlane.start {
            $0.pingInterval = 0.2
            $0.pingBudget = 5
            $0.heartbeatInterval = 0.5
            $0.offlineTimeout = 10
        }
        let first = try await cp.enroll(name: "first")
        let agent = cp.startAgent(first, name: "first")
        try await agent.waitConnected(timeout: 30)
        // Two more sessions: 2 nodes over a budget of 5 a second need 0.4 s; 3 need 0.6 s,
        // capped at the heartbeat interval (0.5 s).
        let (welcomes, welcomed) = AsyncStream.makeStream(of: Welcome.self)
        var received = welcomes.makeAsyncIterator()
        var sessions: [(task: Task<Void, any Error>, release: AsyncStream<Void>.Continuation)] = []
        for name in ["second", "third"] {
            let enrolled = try await cp.enroll(name: name)
            let connection = try await RawConnections.framed(
                port: cp.port,
                identity: enrolled.identity,
                trustRoot: enrolled.caCertificate
            )
            let (released, release) = AsyncStream.makeStream(of: Void.self)
            sessions.append(
                (
                    Task {
                        try await connection.executeThenClose { inbound, outbound in
                            try await outbound.write(Hello().frame())
                            var frames = inbound.makeAsyncIterator()
                            let frame = try #require(try await frames.next())
                            welcomed.yield(try Welcome(payload: frame.payload))
                            for await _ in released {}
                        }
                    },
                    release
                )
            )
            let welcome = try #require(await received.next())
            #expect(welcome.pingIntervalMillis == (name == "second" ? 400 : 500))
            #expect(welcome.deadAfterPings == (name == "second" ? 3 : 2))
        }
        _ = try await agent.wait(
            for: { $0 == .pingIntervalChanged(intervalMillis: 500, deadAfterPings: 2) },
            timeout: 30
        )
        for session in sessions {
            session.release.finish()
            try await session.task.value
        }
        await agent.stop()
        await cp.stop()
    }
}
