import BerthTestSupport
import ControlPlane
import Foundation
import Testing

/// The client commands as an operator types them: the real `berth` binary against a real
/// gateway with authentication on, configured by `BERTH_ADDR`/`BERTH_TOKEN` or a profile.
@Suite struct ClientCLITests {
    static let root = "cli-root-token"

    /// Runs `berth <arguments>`; fails the test unless it exits 0. Returns stdout.
    @discardableResult
    static func berth(_ arguments: [String], _ environment: [String: String]) async throws -> String {
        let result = try await BerthProcess.run(arguments, environment: environment)
        #expect(result.status == 0, "berth \(arguments.joined(separator: " ")): \(result.stderr)")
        return result.stdout
    }

    static func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    @Test func instancesNodesGroupsKeysTemplatesAndEventsFromTheCommandLine() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let node = cp.startAgent(try await cp.enroll(name: "mini-cli"), name: "mini-cli")
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let env = ["BERTH_ADDR": gateway.base, "BERTH_TOKEN": Self.root]

        // Instances: start and wait, list (table and JSON), show, wait, restart.
        let ids = try await Self.berth(["vm", "start", TestTemplates.linux, "--count", "2", "--wait"], env)
            .split(separator: "\n").map(String.init)
        #expect(ids.count == 2)
        let table = try await Self.berth(["vm", "list"], env)
        #expect(table.hasPrefix("INSTANCE"))
        for id in ids { #expect(table.contains(id) && table.contains("Started")) }
        let listed = try #require(try Self.json(try await Self.berth(["vm", "list", "--json"], env)) as? [[String: Any]])
        #expect(Set(listed.compactMap { $0["instance_id"] as? String }) == Set(ids))
        let shown = try #require(try Self.json(try await Self.berth(["vm", "show", ids[0], "--json"], env)) as? [String: Any])
        #expect(shown["instance_state"] as? String == "Started")
        #expect(try await Self.berth(["vm", "show", ids[0]], env).contains("instance_state: Started"))
        #expect(try await Self.berth(["vm", "wait", ids[0], "--timeout", "5"], env).contains("\(ids[0]) Started"))
        try await Self.berth(["vm", "restart", ids[0]], env)

        // Nodes: list, drain and undo, rename.
        #expect(try await Self.berth(["node", "list"], env).contains("mini-cli"))
        try await Self.berth(["node", "drain", node.nodeID], env)
        let drained = try #require(try Self.json(try await Self.berth(["node", "show", node.nodeID, "--json"], env)) as? [String: Any])
        #expect(drained["drain_mode"] as? Bool == true)
        try await Self.berth(["node", "drain", node.nodeID, "--undo"], env)
        try await Self.berth(["node", "config", node.nodeID, "--name", "mini-renamed", "--max-vms", "4"], env)
        let renamed = try await Self.berth(["node", "show", node.nodeID], env)
        #expect(renamed.contains("node_name: mini-renamed") && renamed.contains("drain_mode: false"), "\(renamed)")

        // Groups.
        let group = try await Self.berth(["group", "create", "ci-macs", "--description", "for CI"], env)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!group.isEmpty)
        try await Self.berth(["group", "add", group, node.nodeID], env)
        #expect(try await Self.berth(["group", "list"], env).contains("ci-macs"))
        try await Self.berth(["group", "remove", group, node.nodeID], env)
        try await Self.berth(["group", "delete", group], env)
        #expect(!(try await Self.berth(["group", "list"], env)).contains("ci-macs"))

        // Keys: the private key goes to a 0600 file.
        let keyFile = TestPaths.temporaryDirectory("cli").appendingPathComponent("builder.key")
        try await Self.berth(["key", "create", "builder", "--ttl", "3600", "--out", keyFile.path], env)
        let attributes = try FileManager.default.attributesOfItem(atPath: keyFile.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(Data(base64Encoded: try String(contentsOf: keyFile, encoding: .utf8)) != nil)
        #expect(try await Self.berth(["key", "list"], env).contains("builder"))
        try await Self.berth(["key", "delete", "builder"], env)

        // Templates: list, and a distribution followed to the end.
        #expect(try await Self.berth(["template", "list"], env).contains("ubuntu-22.04"))
        let distributed = try await Self.berth(["template", "distribute", TestTemplates.linux, "--node", node.nodeID], env)
        #expect(distributed.contains(node.nodeID) && distributed.contains("done"), "\(distributed)")
        #expect(try await Self.berth(["template", "pull-status"], env).contains(TestTemplates.linux))

        // Events, and following them live.
        let follow = try BerthProcess(["events", "--follow", "--limit", "1"], environment: env, readingStandardOutput: true)
        _ = try await follow.line(containing: "  ")
        let third = try await Self.berth(["vm", "start", TestTemplates.linux], env).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try await follow.line(containing: third)
        await follow.stop()
        #expect(try await Self.berth(["events", "--kind", "instance."], env).contains("instance."))

        // Terminate everything, and wait for the end.
        try await Self.berth(["vm", "terminate"] + ids + [third], env)
        for id in ids + [third] { try await Self.berth(["vm", "wait", id, "--state", "Terminated"], env) }

        // Failures exit 1 with the API's message.
        let missing = try await BerthProcess.run(["vm", "show", "no-such-instance"], environment: env)
        #expect(missing.status == 1 && missing.stderr.contains("No such instance"), "\(missing.stderr)")
        let wrong = try await BerthProcess.run(["vm", "list"], environment: ["BERTH_ADDR": gateway.base, "BERTH_TOKEN": "nope"])
        #expect(wrong.status == 1 && wrong.stderr.contains("BERTH_TOKEN"), "\(wrong.stderr)")

        await gateway.stop()
        await node.stop()
        await cp.stop()
    }

    @Test func aPushUploadsOnlyTheChunksTheRegistryLacks() async throws {
        let cp = try await TestControlPlane.start()
        let node = cp.startAgent(try await cp.enroll(name: "mini-push"), name: "mini-push")
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let env = ["BERTH_ADDR": gateway.base, "BERTH_TOKEN": Self.root]
        let chunk = 65_536
        let directory = TestPaths.temporaryDirectory("push")
        var state: UInt64 = 7
        var disk = (0..<(6 * chunk)).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        try Data(disk).write(to: directory.appendingPathComponent("disk.img"))
        try Data("cpu: 2\nram: 4G\n".utf8).write(to: directory.appendingPathComponent("vm.yaml"))
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("state"), withIntermediateDirectories: true)
        try Data([UInt8](repeating: 0, count: 3 * chunk)).write(to: directory.appendingPathComponent("state/suspend.state"))

        func push(_ tag: String, _ extra: [String] = []) async throws -> [String: Any] {
            let output = try await Self.berth(
                ["template", "push", directory.path, "--name", "cli-push", "--tag", tag, "--chunk-size", "\(chunk)", "--json"]
                    + extra,
                env
            )
            return try #require(try Self.json(output) as? [String: Any], "\(output)")
        }
        // First push: 6 disk chunks, 1 config chunk, and 3 zero chunks that are one chunk.
        let v1 = try await push("v1")
        #expect(v1["uploaded_chunks"] as? Int == 8)
        #expect(v1["skipped_chunks"] as? Int == 0)
        #expect(v1["files"] as? Int == 3 && v1["chunks"] as? Int == 10)
        let templateID = try #require(v1["template_id"] as? String)
        // Nothing changed: nothing is sent.
        let v2 = try await push("v2")
        #expect(v2["uploaded_chunks"] as? Int == 0 && v2["skipped_chunks"] as? Int == 8)
        // One block changed: one chunk is sent. Plain progress lines when not on a terminal.
        for index in (2 * chunk)..<(2 * chunk + 10) { disk[index] ^= 0xFF }
        try Data(disk).write(to: directory.appendingPathComponent("disk.img"))
        let plain = try await Self.berth(
            ["template", "push", directory.path, "--template-id", templateID, "--tag", "v3", "--chunk-size", "\(chunk)"],
            env
        )
        #expect(plain.contains("the registry lacks 1 (64 KB)"), "\(plain)")
        #expect(plain.contains("(100%)"), "\(plain)")
        #expect(plain.contains("uploaded 1 chunks (64 KB); skipped 7 chunks the registry already had"), "\(plain)")

        // The pushed version runs: the node pulls its chunks from the registry.
        let events = cp.controlPlane.events.subscribe()
        let id = try await Self.berth(["vm", "start", templateID, "--tag", "v3"], env).trimmingCharacters(in: .whitespacesAndNewlines)
        try await events.instances([id], reach: .started, timeout: 30)
        let cached = try #require(await node.agent.cache.manifest(templateID: templateID, tag: "v3"))
        let copy = TestPaths.temporaryDirectory("materialized")
        try await node.agent.cache.materialize(cached, into: copy)
        #expect(try Data(contentsOf: copy.appendingPathComponent("disk.img")) == Data(disk))

        // The registry refuses a commit naming a chunk it does not hold, and a chunk that does
        // not hash to its name.
        let absent = String(repeating: "ab", count: 32)
        let commit = try await gateway.http.send(
            "POST",
            "/berth/v1/registry/commit",
            body: #"{"name": "cli-push", "tag": "bad", "files": [{"path": "x", "size": 10, "chunk_size": 65536, "chunks": ["\#(absent)"]}]}"#
        )
        #expect(commit.status == 404 && commit.text.contains("not stored"), "\(commit.text)")
        let wrong = try await gateway.http.send("PUT", "/berth/v1/registry/chunks/\(absent)", body: "hello")
        #expect(wrong.status == 400 && wrong.text.contains("SHA-256"), "\(wrong.text)")
        await gateway.stop()
        await node.stop()
        await cp.stop()
    }

    @Test func aProfileInTheClientFileStandsInForTheEnvironment() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let directory = TestPaths.temporaryDirectory("cli-profile")
        let tokenFile = directory.appendingPathComponent("token")
        try Data((Self.root + "\n").utf8).write(to: tokenFile)
        let file = directory.appendingPathComponent("client.yaml")
        try Data(
            """
            default: broken
            profiles:
              broken: {addr: "http://127.0.0.1:1"}
              lab: {addr: "\(gateway.base)", token-file: "\(tokenFile.path)"}
            """.utf8
        ).write(to: file)
        let env = ["BERTH_CLIENT_CONFIG": file.path]
        #expect(try await Self.berth(["vm", "list", "--profile", "lab"], env).hasPrefix("INSTANCE"))
        #expect(try await Self.berth(["node", "list"], env.merging(["BERTH_PROFILE": "lab"]) { $1 }).hasPrefix("NODE"))
        // The default profile is used without one named, and the flag beats it.
        let unreachable = try await BerthProcess.run(["vm", "list"], environment: env)
        #expect(unreachable.status == 1 && unreachable.stderr.contains("cannot reach the gateway at http://127.0.0.1:1"))
        let flagged = try await BerthProcess.run(
            ["vm", "list", "--addr", gateway.base, "--token", Self.root],
            environment: env
        )
        #expect(flagged.status == 0, "\(flagged.stderr)")
        let unknown = try await BerthProcess.run(["vm", "list", "--profile", "nope"], environment: env)
        #expect(unknown.status == 1 && unknown.stderr.contains("no profile nope"), "\(unknown.stderr)")
        await gateway.stop()
        await cp.stop()
    }
}
