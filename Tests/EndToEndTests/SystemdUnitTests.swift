import BerthTestSupport
import Foundation
import Testing

/// The systemd units in `packaging/systemd` pass `systemd-analyze verify` (when the tool is
/// installed), run against the `berth` binary this build made.
@Suite struct SystemdUnitTests {
    static let analyzer = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    static var packaging: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("packaging/systemd")
    }

    @Test(.enabled(if: analyzer != nil, "systemd-analyze is not installed"))
    func eachUnitVerifies() async throws {
        let analyzer = try #require(Self.analyzer)
        let units = try FileManager.default.contentsOfDirectory(atPath: Self.packaging.path)
            .filter { $0.hasSuffix(".service") }.sorted()
        #expect(units == ["berth-controlplane.service", "berth-gateway.service", "berth-node.service"])
        let directory = TestPaths.temporaryDirectory("units")
        for unit in units {
            let text = try String(contentsOf: Self.packaging.appendingPathComponent(unit), encoding: .utf8)
            // Each unit states what the issue asks of it.
            #expect(text.contains("Restart=on-failure"), "\(unit)")
            #expect(text.contains("LimitNOFILE=65536"), "\(unit)")
            #expect(text.contains("StateDirectory=berth/"), "\(unit)")
            #expect(text.contains("NoNewPrivileges=yes"), "\(unit)")
            // verify checks that ExecStart's program exists: point it at this build's.
            let copy = directory.appendingPathComponent(unit)
            try text.replacingOccurrences(of: "/usr/local/bin/berth", with: BerthProcess.executable.path)
                .write(to: copy, atomically: true, encoding: .utf8)
            let verified = try await Shell.run(analyzer, ["verify", copy.path])
            #expect(verified.exitCode == 0, "\(unit): \(verified.stderr)")
            #expect(verified.stderr.isEmpty, "\(unit): \(verified.stderr)")
        }
    }
}
