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
