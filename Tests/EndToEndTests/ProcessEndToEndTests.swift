import BerthTestSupport
import Foundation
import Testing

/// The backbone as real `berth` processes: CA, token, join, control plane, gateway and node,
/// with the control plane killed by SIGKILL and restarted in the middle.
@Suite struct ProcessEndToEndTests {
    static func port(in line: String) throws -> Int {
        // "... address=127.0.0.1:40123 ..." or "... http://127.0.0.1:40123"
        let pattern = /127\.0\.0\.1:(\d+)/
        let match = try #require(line.firstMatch(of: pattern))
        return try #require(Int(match.1))
    }

    @Test func killDashNineOfTheControlPlaneLosesNothingAcknowledged() async throws {
        let root = TestPaths.temporaryDirectory("processes")
        let cpDir = root.appendingPathComponent("cp").path
        #expect(try await BerthProcess.run(["ca", "init", "--data-dir", cpDir]).status == 0)
        #expect(
            try await BerthProcess.run([
                "ca", "issue-gateway", "--data-dir", cpDir, "--name", "gw", "--out",
                root.appendingPathComponent("gw").path,
            ]).status == 0
        )

        var controlPlane = try BerthProcess([
            "controlplane", "--data-dir", cpDir, "--port", "0", "--heartbeat-interval", "0.5",
        ])
        let cpPort = try Self.port(in: try await controlPlane.line(containing: "control plane listening"))
        // Templates come with the registry issue; seed one directly into the real database file.
        try await TestTemplates.seed(try BerthDatabaseOpener.open(cpDir))

        let token = try await BerthProcess.run([
            "token", "create", "--data-dir", cpDir, "--server", "127.0.0.1:\(cpPort)",
        ])
        let fields = Dictionary(
            uniqueKeysWithValues: token.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            }
        )
        let joinToken = try #require(fields["token:"])
        let caHash = try #require(fields["ca-hash:"])
        let nodeDir = root.appendingPathComponent("node").path
        let joined = try await BerthProcess.run([
            "node", "join", "--server", "127.0.0.1:\(cpPort)", "--token", joinToken, "--ca-hash", caHash, "--data-dir",
            nodeDir, "--name", "mini-1",
        ])
        #expect(joined.status == 0, "\(joined.stderr)")
        let reuse = try await BerthProcess.run([
            "node", "join", "--server", "127.0.0.1:\(cpPort)", "--token", joinToken, "--ca-hash", caHash, "--data-dir",
            nodeDir + "-2",
        ])
        #expect(reuse.status != 0)
        #expect(reuse.stderr.contains("already used"))

        let node = try BerthProcess([
            "node", "run", "--server", "127.0.0.1:\(cpPort)", "--data-dir", nodeDir, "--boot-time-ms", "50",
            "--max-vms", "4",
        ])
        _ = try await node.line(containing: "connected to control plane")
        let gateway = try BerthProcess([
            "gateway", "--control-plane", "127.0.0.1:\(cpPort)", "--cert-dir", root.appendingPathComponent("gw").path,
            "--http-port", "0", "--root-token", "process-root-token",
        ])
        let httpPort = try Self.port(in: try await gateway.line(containing: "REST API listening"))
        _ = try await gateway.line(containing: "connected to control plane")
        let http = HTTPTestClient(
            base: "http://127.0.0.1:\(httpPort)",
            authorization: "Basic " + Data("root:process-root-token".utf8).base64EncodedString()
        )

        @Sendable func state(_ id: String) async throws -> String? {
            let reply = try await http.send("GET", "/api/v1/vm?id=\(id)")
            return (reply.json["body"] as? [String: Any])?["instance_state"] as? String
        }
        func waitFor(_ id: String, _ wanted: String) async throws {
            // Each iteration is one HTTP round trip: a client polling the API, not a sleep.
            try await withTimeout(30, "\(id) to be \(wanted)") {
                while try await state(id) != wanted {}
            }
        }

        let first = try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)", "count": 2}"#)
        let ids = try #require(first.json["body"] as? [String])
        for id in ids { try await waitFor(id, "Started") }

        // SIGKILL: nothing of the control plane's shutdown runs.
        await controlPlane.kill()
        let unavailable = try await http.send("GET", "/api/v1/vm")
        #expect(unavailable.status == 503)
        #expect(unavailable.json["status"] as? String == "FAIL")

        controlPlane = try BerthProcess([
            "controlplane", "--data-dir", cpDir, "--port", "\(cpPort)", "--heartbeat-interval", "0.5",
        ])
        _ = try await controlPlane.line(containing: "control plane listening")
        _ = try await controlPlane.line(containing: "node connected")
        for id in ids { try await waitFor(id, "Started") }
        let second = try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)"}"#)
        let late = try #require((second.json["body"] as? [String])?.first)
        try await waitFor(late, "Started")

        for id in ids + [late] {
            #expect(try await http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(id)"}"#).status == 200)
            try await waitFor(id, "Terminated")
        }
        await gateway.stop()
        await node.stop()
        await controlPlane.stop()
    }
}
