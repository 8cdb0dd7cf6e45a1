import NIOCore
import Testing

@testable import TLSTransport

/// When the handshake gate closes a handshake as stalled: soon when the gate is stuck,
/// late while other handshakes keep finishing (a busy machine, not an idle peer).
@Suite struct HandshakeStallRuleTests {
    let admission = ConnectionAdmission(limits: .init(stallAge: .seconds(2)))
    let began = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test func aStuckGateClosesAtTheStallAge() {
        #expect(admission.stallDeadline(began, nil) == began + .seconds(2))
        // The last finish is older than the handshake's stall age: stuck since.
        #expect(admission.stallDeadline(began, began - .seconds(5)) == began + .seconds(2))
    }

    @Test func aMovingGateWaitsUntilFinishesStopOrFourTimesTheAge() {
        // Finished a second ago: stalled once two seconds pass without another finish.
        #expect(admission.stallDeadline(began, began + .seconds(3)) == began + .seconds(5))
        // Finishes keep coming: never later than four stall ages.
        #expect(admission.stallDeadline(began, began + .seconds(30)) == began + .seconds(8))
    }
}
