import BerthTestSupport
import Foundation
import NIOCore
import NIOPosix
import Testing

/// Settings from a YAML file and BERTH_* variables under the flags, with the real binary.
@Suite struct ConfigFileTests {
    @Test func configCheckPrintsTheEffectiveSettingsWithSecretsRedacted() async throws {
        let directory = TestPaths.temporaryDirectory("config")
        let tokenFile = directory.appendingPathComponent("root.token")
        try "a-root-token-from-a-file\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let file = directory.appendingPathComponent("gateway.yaml")
        try """
            control-plane: 127.0.0.1:7420
            cert-dir: \(directory.path)
            root-token-file: \(tokenFile.path)
            http-port: 8443
            list-cache-mib: 16
            """.write(to: file, atomically: true, encoding: .utf8)
        let checked = try await BerthProcess.run(
            ["config", "check", file.path, "--for", "gateway"],
            environment: ["BERTH_HTTP_PORT": "9443", "BERTH_OIDC_CLIENT_ID": "berth-ci"]
        )
        #expect(checked.status == 0, "\(checked.stderr)")
        let rows = checked.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        func row(_ name: String) -> [String]? { rows.first { $0.first == name } }
        #expect(row("http-port") == ["http-port", "9443", "environment"])  // the environment over the file
        #expect(row("list-cache-mib") == ["list-cache-mib", "16", "file"])
        #expect(row("oidc-client-id") == ["oidc-client-id", "berth-ci", "environment"])
        #expect(row("host") == ["host", "127.0.0.1", "default"])
        #expect(!checked.stdout.contains("a-root-token-from-a-file"))

        // A secret given directly is redacted.
        let direct = try await BerthProcess.run(
            ["config", "check", file.path, "--for", "gateway"],
            environment: ["BERTH_ROOT_TOKEN": "a-root-token-in-the-environment"]
        )
        // ...and with the file as well, the two are refused together.
        #expect(direct.status != 0)
        #expect(direct.stderr.contains("not both"), "\(direct.stderr)")
        try """
            control-plane: 127.0.0.1:7420
            cert-dir: \(directory.path)
            root-token: a-root-token-in-the-file
            """.write(to: file, atomically: true, encoding: .utf8)
        let redacted = try await BerthProcess.run(["config", "check", file.path, "--for", "gateway"])
        #expect(redacted.status == 0, "\(redacted.stderr)")
        #expect(redacted.stdout.contains("<redacted>"))
        #expect(!redacted.stdout.contains("a-root-token-in-the-file"))

        // A typo, a wrong type and a missing required setting are errors naming the problem.
        for (yaml, message) in [
            ("control-plane: 127.0.0.1:7420\ncert-dir: /x\nhttp-prot: 1\n", "http-prot"),
            ("control-plane: 127.0.0.1:7420\ncert-dir: /x\nhttp-port: lots\n", "lots"),
            ("http-port: 8090\n", "Missing expected argument"),
            ("- not\n- a mapping\n", "mapping"),
        ] {
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            let failed = try await BerthProcess.run(["config", "check", file.path, "--for", "gateway"])
            #expect(failed.status != 0, "\(yaml)")
            #expect(failed.stderr.contains(message), "\(yaml): \(failed.stderr)")
        }
    }

    /// The control plane started from a file: the flag beats the environment, which beats
    /// the file. Each loser names a port that is taken, so a wrong order fails to start.
    @Test func theFlagBeatsTheEnvironmentWhichBeatsTheFile() async throws {
        let directory = TestPaths.temporaryDirectory("config-run")
        let dataDir = directory.appendingPathComponent("cp")
        let initialized = try await BerthProcess.run(["ca", "init", "--data-dir", dataDir.path])
        #expect(initialized.status == 0, "\(initialized.stderr)")
        // A port held open for the test: binding it again fails.
        let taken = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let takenPort = try #require(taken.localAddress?.port)
        let file = directory.appendingPathComponent("cp.yaml")
        try """
            data-dir: \(dataDir.path)
            port: 0
            metrics-port: \(takenPort)
            """.write(to: file, atomically: true, encoding: .utf8)

        // The file alone: its taken port stops the start, naming the address.
        let fileOnly = try await BerthProcess.run(["controlplane", "--config", file.path])
        #expect(fileOnly.status != 0)
        #expect(fileOnly.stderr.contains("127.0.0.1:\(takenPort)"), "\(fileOnly.stderr)")

        // The environment over the file.
        let overFile = try BerthProcess(["controlplane", "--config", file.path], environment: ["BERTH_METRICS_PORT": "0"])
        _ = try await overFile.line(containing: "metrics listening")
        await overFile.stop()

        // The flag over the environment (which names the taken port this time).
        let overEnvironment = try BerthProcess(
            ["controlplane", "--config", file.path, "--metrics-port", "0"],
            environment: ["BERTH_METRICS_PORT": "\(takenPort)"]
        )
        _ = try await overEnvironment.line(containing: "metrics listening")
        await overEnvironment.stop()
        try await taken.close()
    }
}

/// `berth ca status` on a new data directory: the CA, the server certificate and the
/// gateway certificates in force, each with its expiry.
@Suite struct CAStatusTests {
    @Test func statusShowsEachExpiry() async throws {
        let directory = TestPaths.temporaryDirectory("ca-status").appendingPathComponent("cp")
        #expect(try await BerthProcess.run(["ca", "init", "--data-dir", directory.path]).status == 0)
        let out = TestPaths.temporaryDirectory("ca-status-gw")
        let issued = try await BerthProcess.run(
            ["ca", "issue-gateway", "--data-dir", directory.path, "--name", "gw1", "--out", out.path]
        )
        #expect(issued.status == 0, "\(issued.stderr)")
        let status = try await BerthProcess.run(["ca", "status", "--data-dir", directory.path])
        #expect(status.status == 0, "\(status.stderr)")
        let lines = status.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("CA ") && $0.contains("(3649 days)") || $0.contains("(3650 days)") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("control plane server") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("1 gateway ") && $0.contains("soonest expires") && $0.contains("(36") }, "\(lines)")
        #expect(!status.stdout.contains("WARNING"))
    }
}
