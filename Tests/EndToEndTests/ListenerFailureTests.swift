import BerthTestSupport
import Foundation
import Testing

/// A listener that cannot bind says which address is taken and the process exits non-zero,
/// rather than hanging without a word.
@Suite struct ListenerFailureTests {
    @Test func aTakenPortIsNamedAndTheProcessExits() async throws {
        let occupant = try await TestControlPlane.start()
        for flag in ["--http-port", "--control-plane-port"] {
            let result = try await withTimeout(120, "berth dev \(flag) on a taken port to exit") {
                try await BerthProcess.run(["dev", flag, "\(occupant.port)", "--nodes", "1"])
            }
            #expect(result.status != 0, "\(flag)")
            #expect(result.stderr.contains("cannot listen on 127.0.0.1:\(occupant.port)"), "\(flag): \(result.stderr)")
        }
        await occupant.stop()
    }
}
