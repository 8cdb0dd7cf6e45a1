import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing

/// `berth token create|list|revoke` as an operator types them: over the REST API through a
/// real gateway with authentication on, and with `--data-dir` on the control plane's files.
/// Each token minted is then used (or refused) by the real enrollment path.
@Suite struct JoinTokenCommandTests {
    static let root = "token-root-token"

    /// The `token:` lines of `berth token create`.
    static func tokens(in output: String) -> [String] {
        output.split(separator: "\n").compactMap { line in
            line.hasPrefix("token:") ? line.split(separator: " ", omittingEmptySubsequences: true).last.map(String.init) : nil
        }
    }

    static func listed(_ env: [String: String], _ extra: [String] = []) async throws -> [String: [String: Any]] {
        let text = try await ClientCLITests.berth(["token", "list", "--json"] + extra, env)
        let tokens = try #require(try ClientCLITests.json(text) as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: tokens.map { ($0["id"] as? String ?? "", $0) })
    }

    func join(_ cp: TestControlPlane, _ token: String, name: String) async throws -> EnrolledNode {
        try await NodeEnrollment.join(host: "127.0.0.1", port: cp.port, token: token, pin: cp.authority.pin, nodeName: name)
    }

    @Test func tokensAreMintedListedAndRevokedThroughTheGateway() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let env = ["BERTH_ADDR": gateway.base, "BERTH_TOKEN": Self.root]

        // Two tokens for two hosts, with the join command to paste.
        let created = try await ClientCLITests.berth(
            ["token", "create", "--count", "2", "--ttl", "600", "--description", "rack 4", "--server", "10.0.0.5:7420"],
            env
        )
        let tokens = Self.tokens(in: created)
        #expect(tokens.count == 2, "\(created)")
        #expect(created.contains("ca-hash: \(cp.authority.pin)"))
        #expect(created.contains("berth node join --server 10.0.0.5:7420 --ca-hash \(cp.authority.pin)"))
        let ids = tokens.map { String($0.prefix(6)) }

        // Listed as usable, by whom and why; the secrets appear nowhere.
        var listed = try await Self.listed(env)
        for id in ids {
            #expect(listed[id]?["state"] as? String == "usable")
            #expect(listed[id]?["created_by"] as? String == "root")
            #expect(listed[id]?["description"] as? String == "rack 4")
        }
        let table = try await ClientCLITests.berth(["token", "list"], env)
        #expect(table.hasPrefix("ID") && table.contains(ids[0]) && table.contains("rack 4"))
        for token in tokens { #expect(!table.contains(token) && !table.contains(String(token.dropFirst(7)))) }

        // The first enrolls a node and is then used; it can no longer be revoked.
        let enrolled = try await join(cp, tokens[0], name: "mini-rack4")
        listed = try await Self.listed(env)
        #expect(listed[ids[0]]?["state"] as? String == "used")
        #expect(listed[ids[0]]?["used_by"] as? String == enrolled.nodeID)
        let usedRevoke = try await BerthProcess.run(["token", "revoke", ids[0]], environment: env)
        #expect(usedRevoke.status == 1)
        #expect(usedRevoke.stderr.contains("already used"), "\(usedRevoke.stderr)")

        // The second, revoked (given whole, as it was printed), no longer enrolls anything.
        let revoked = try await ClientCLITests.berth(["token", "revoke", tokens[1]], env)
        #expect(revoked.contains("\(ids[1]): revoked"), "\(revoked)")
        await #expect(throws: (any Error).self) { _ = try await join(cp, tokens[1], name: "mini-late") }
        #expect(cp.logs.contains("was revoked"))
        // Revoking again changes nothing.
        #expect(try await ClientCLITests.berth(["token", "revoke", ids[1]], env).contains("revoked"))
        #expect(try await Self.listed(env, ["--state", "revoked"]).keys.sorted() == [ids[1]])
        #expect(try await Self.listed(env, ["--state", "used"]).keys.sorted() == [ids[0]])

        // Refusals exit 1 with the API's reason.
        let unknown = try await BerthProcess.run(["token", "revoke", "zzzzzz"], environment: env)
        #expect(unknown.status == 1 && unknown.stderr.contains("no join token zzzzzz"), "\(unknown.stderr)")
        let short = try await BerthProcess.run(["token", "create", "--ttl", "5"], environment: env)
        #expect(short.status == 1 && short.stderr.contains("ttl must be"), "\(short.stderr)")
        let many = try await BerthProcess.run(["token", "create", "--count", "1001"], environment: env)
        #expect(many.status == 1 && many.stderr.contains("count must be"), "\(many.stderr)")
        let state = try await BerthProcess.run(["token", "list", "--state", "fresh"], environment: env)
        #expect(state.status == 1 && state.stderr.contains("state must be"), "\(state.stderr)")

        // JSON for scripts: the whole token once, and the pin.
        let scripted = try #require(
            try ClientCLITests.json(try await ClientCLITests.berth(["token", "create", "--json"], env)) as? [String: Any]
        )
        let minted = try #require((scripted["tokens"] as? [[String: Any]])?.first?["token"] as? String)
        #expect(scripted["ca_hash"] as? String == cp.authority.pin.description)
        _ = try await join(cp, minted, name: "mini-scripted")

        // The event log tells the story with the actor.
        let events = try await cp.database.events(kindPrefix: "token.")
        #expect(events.filter { $0.kind == "token.created" }.count == 3)
        #expect(events.filter { $0.kind == "token.revoked" }.map(\.actor) == ["root"])
        await gateway.stop()
        await cp.stop()
    }

    @Test func onTheControlPlanesHostTheDataDirectoryIsEnough() async throws {
        let cp = try await TestControlPlane.start()
        let dataDir = cp.directory.url.path
        let created = try await ClientCLITests.berth(["token", "create", "--data-dir", dataDir, "--count", "2"], [:])
        let tokens = Self.tokens(in: created)
        #expect(tokens.count == 2)
        #expect(created.contains("--server 127.0.0.1:7420"))
        _ = try await join(cp, tokens[0], name: "mini-local")
        try await ClientCLITests.berth(["token", "revoke", "--data-dir", dataDir, String(tokens[1].prefix(6))], [:])
        await #expect(throws: (any Error).self) { _ = try await join(cp, tokens[1], name: "mini-refused") }
        let listed = try #require(
            try ClientCLITests.json(
                try await ClientCLITests.berth(["token", "list", "--data-dir", dataDir, "--json"], [:])
            ) as? [[String: Any]]
        )
        let states = Dictionary(uniqueKeysWithValues: listed.map { ($0["id"] as? String ?? "", $0["state"] as? String ?? "") })
        #expect(states == [String(tokens[0].prefix(6)): "used", String(tokens[1].prefix(6)): "revoked"])
        #expect(listed.allSatisfy { $0["created_by"] as? String == "cli" })
        await cp.stop()
    }
}
