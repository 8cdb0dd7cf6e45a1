import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol

/// Template content moving for real: a tar pushed through the gateway with the real tar and
/// curl, pulled by nodes over TLS in chunks, deduplicated by hash, distributed, removed.
@Suite struct TemplateContentTests {
    static let chunk = 64 * 1024

    /// A template directory: a 1 MiB disk image (16 chunks), a config file and an nvram.
    static func makeTemplate(seed: UInt64) throws -> URL {
        let directory = TestPaths.temporaryDirectory("template")
        try Data(pseudoRandom(count: 16 * chunk, seed: seed)).write(to: directory.appendingPathComponent("disk.img"))
        try Data("cpu: 2\nram: 4G\n".utf8).write(to: directory.appendingPathComponent("vm.yaml"))
        try Data(pseudoRandom(count: 1000, seed: seed + 1)).write(to: directory.appendingPathComponent("nvram"))
        return directory
    }

    static func pseudoRandom(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// Pushes `directory` as `name:tag` with tar and curl, as the README does.
    static func push(_ directory: URL, name: String, tag: String, gateway: TestGateway) async throws -> [String: Any] {
        let url = "\(gateway.base)/berth/v1/registry/push?name=\(name)&tag=\(tag)&chunk_size=\(chunk)"
        let output = try await Shell.run(
            "/bin/bash",
            ["-o", "pipefail", "-c", "tar -C '\(directory.path)' -cf - . | curl -sS -T - '\(url)'"]
        )
        #expect(output.exitCode == 0, "\(output.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        #expect(json?["status"] as? String == "OK", "\(output.stdout)")
        return try #require(json?["body"] as? [String: Any])
    }

    /// On both engines: the registry's metadata (versions, files, chunk records) in SQLite
    /// or PostgreSQL.
    @Test(arguments: StorageEngine.allCases)
    func anIncrementalPullFetchesOnlyTheChunksTheNodeLacks(engine: StorageEngine) async throws {
        let cp = try await TestControlPlane.start(store: try await TestStore(engine))
        let node = cp.startAgent(try await cp.enroll(name: "mini"), name: "mini") { $0.transferWindow = 3 }
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http

        let directory = try Self.makeTemplate(seed: 7)
        let v1 = try await Self.push(directory, name: "linux-ci", tag: "v1", gateway: gateway)
        let total = 16 * Self.chunk + 15 + 1000
        #expect(v1["size"] as? Int == total)
        #expect(v1["uploaded_bytes"] as? Int == total)
        let templateID = try #require(v1["template_id"] as? String)

        // First start: the node lacks everything and pulls it all, showing Pulling progress.
        let events = cp.controlPlane.events.subscribe()
        let first = try #require(
            try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(templateID)", "tag": "v1"}"#)
                .json["body"] as? [String]
        ).first!
        let pulling = try await events.instance { $0.instanceID == first && $0.state == .pulling && $0.progress > 0 }
        #expect(pulling.progress <= 1)
        try await events.instances([first], reach: .started)
        #expect(await node.agent.bytesFetched == total)

        // v2 changes one 64 KiB block of the disk and adds a state file.
        let disk = directory.appendingPathComponent("disk.img")
        var bytes = [UInt8](try Data(contentsOf: disk))
        for index in (5 * Self.chunk)..<(5 * Self.chunk + 10) { bytes[index] ^= 0xFF }
        try Data(bytes).write(to: disk)
        try Data(Self.pseudoRandom(count: 5000, seed: 99)).write(to: directory.appendingPathComponent("suspend.state"))
        let v2 = try await Self.push(directory, name: "linux-ci", tag: "v2", gateway: gateway)
        #expect(v2["template_id"] as? String == templateID)
        #expect(v2["number"] as? Int == 2)
        #expect(v2["uploaded_bytes"] as? Int == Self.chunk + 5000, "the push also sends only new chunks")

        // Second start of the new tag on the same node: only the changed chunk and the new file move.
        let second = try #require(
            try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(templateID)", "tag": "v2"}"#)
                .json["body"] as? [String]
        ).first!
        try await events.instances([second], reach: .started)
        #expect(await node.agent.bytesFetched == total + Self.chunk + 5000)

        // The node reports both versions and what its cache occupies.
        let distinct = 16 * Self.chunk + Self.chunk + 15 + 1000 + 5000
        let nodeJSON = try #require(
            try await http.send("GET", "/api/v1/node?id=\(node.nodeID)").json["body"] as? [[String: Any]]
        )
        let held = (nodeJSON.first?["templates"] as? [[String: Any]] ?? []).compactMap { $0["tag"] as? String }
        #expect(Set(held) == ["v1", "v2"])
        #expect(nodeJSON.first?["anka_disk_usage"] as? Int == distinct)

        // The registry names the files, stores each chunk once, and knows the last pull.
        let shown = try #require(
            try await http.send("GET", "/api/v1/registry/vm?id=\(templateID)").json["body"] as? [String: Any]
        )
        let versions = try #require(shown["versions"] as? [[String: Any]])
        let newest = try #require(versions.first)
        #expect(newest["tag"] as? String == "v2")
        #expect(newest["images"] as? [String] == ["disk.img"])
        #expect(newest["state_files"] as? [String] == ["suspend.state"])
        #expect(newest["config_file"] as? String == "vm.yaml")
        #expect(newest["nvram"] as? String == "nvram")
        #expect((newest["last_pull"] as? Int ?? 0) > 0)
        #expect((shown["last_push"] as? Int ?? 0) > 0)
        let disk2 = try #require(try await http.send("GET", "/api/v1/registry/disk").json["body"] as? [String: Any])
        #expect(disk2["used"] as? Int == distinct)
        #expect(disk2["logical_size"] as? Int == total + total + 5000)
        #expect((disk2["total"] as? Int ?? 0) > 0)

        // The instance's files are the pushed ones, byte for byte, once materialized.
        let cached = try #require(await node.agent.cache.manifest(templateID: templateID, tag: "v2"))
        let copy = TestPaths.temporaryDirectory("materialized")
        try await node.agent.cache.materialize(cached, into: copy)
        #expect(try Data(contentsOf: copy.appendingPathComponent("disk.img")) == Data(bytes))

        await node.stop()
        await gateway.stop()
        await cp.stop()
    }

    @Test func aPullResumesOnTheNextConnectionAfterTheConnectionDrops() async throws {
        let cp = try await TestControlPlane.start()
        let relay = try await PartitionRelay.start(to: cp.port)
        let node = cp.startAgent(try await cp.enroll(name: "blip"), name: "blip", port: relay.port) {
            $0.transferWindow = 2
        }
        try await node.waitConnected(timeout: 30)
        let gateway = try await TestGateway.start(cp)
        let v1 = try await Self.push(try Self.makeTemplate(seed: 11), name: "blip-ci", tag: "v1", gateway: gateway)
        let templateID = try #require(v1["template_id"] as? String)
        let total = 16 * Self.chunk + 15 + 1000

        // The connection drops once half the template has come down: mid-pull, chunks in flight.
        let events = cp.controlPlane.events.subscribe()
        await relay.dropConnections(afterDownstreamBytes: total / 2)
        let id = try #require(
            try await gateway.http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(templateID)", "tag": "v1"}"#)
                .json["body"] as? [String]
        ).first!
        let outcome = try await events.instance(timeout: 30, "the start to finish") {
            $0.instanceID == id && ($0.state == .started || $0.state == .error)
        }
        #expect(outcome.state == .started, "\(outcome.message)")
        #expect(await node.agent.connections == 2)
        // Resumed, not restarted: every byte came down once.
        #expect(await node.agent.bytesFetched == total)
        await gateway.stop()
        await node.stop()
        await relay.stop()
        await cp.stop()
    }

    @Test func aDistributionPreloadsNodesAndCanBeCancelledAndRemoved() async throws {
        let cp = try await TestControlPlane.start()
        let a = cp.startAgent(try await cp.enroll(name: "a"), name: "a")
        let b = cp.startAgent(try await cp.enroll(name: "b"), name: "b")
        try await a.waitConnected()
        try await b.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http
        let pushed = try await Self.push(try Self.makeTemplate(seed: 3), name: "preload", tag: "v1", gateway: gateway)
        let templateID = try #require(pushed["template_id"] as? String)

        // To node a only; node b stays empty.
        let events = cp.controlPlane.events.subscribe()
        let posted = try await http.send(
            "POST",
            "/api/v1/registry/vm/distribute",
            body: #"{"template_id": "\#(templateID)", "node_ids": ["\#(a.nodeID)"]}"#
        )
        let requestID = try #require((posted.json["body"] as? [String: Any])?["request_id"] as? String)
        try await events.first("node a to finish the distribution") {
            if case .distribution(let id, let node, let done, _) = $0 {
                return id == requestID && node == a.nodeID && done
            }
            return false
        }
        let status = try #require(
            try await http.send("GET", "/api/v1/registry/vm/distribute?id=\(requestID)").json["body"] as? [String: Any]
        )
        let perNode = try #require(status["distribute_status"] as? [String: [String: Any]])
        #expect(Array(perNode.keys) == [a.nodeID])
        #expect(perNode[a.nodeID]?["status"] as? Bool == true)
        #expect(perNode[a.nodeID]?["progress"] as? Double == 1)
        #expect(perNode[a.nodeID]?["bytes_fetched"] as? Int == pushed["size"] as? Int)
        #expect((status["request"] as? [String: Any])?["template_id"] as? String == templateID)
        #expect(await a.agent.cache.held().map(\.tag) == ["v1"])
        #expect(await b.agent.cache.held().isEmpty)
        let all = try #require(
            try await http.send("GET", "/api/v1/registry/vm/distribute").json["body"] as? [[String: Any]]
        )
        #expect(all.count == 1)

        // A start on the node that holds it now pulls nothing.
        let before = await a.agent.bytesFetched
        let id = try #require(
            try await http.send(
                "POST",
                "/api/v1/vm",
                body: #"{"vmid": "\#(templateID)", "node_id": "\#(a.nodeID)"}"#
            ).json["body"] as? [String]
        ).first!
        try await events.instances([id], reach: .started)
        #expect(await a.agent.bytesFetched == before)

        // Cancelling a distribution to a node that is offline: it never completes.
        await b.stop()
        try await events.node(b.nodeID, becomes: "Offline")
        let pending = try await http.send(
            "POST",
            "/api/v1/registry/vm/distribute",
            body: #"{"template_id": "\#(templateID)", "node_ids": ["\#(b.nodeID)"]}"#
        )
        let pendingID = try #require((pending.json["body"] as? [String: Any])?["request_id"] as? String)
        #expect(try await http.send("DELETE", "/api/v1/registry/vm/distribute?id=\(pendingID)").status == 200)
        let cancelled = try #require(
            try await http.send("GET", "/api/v1/registry/vm/distribute?id=\(pendingID)").json["body"] as? [String: Any]
        )
        #expect((cancelled["request"] as? [String: Any])?["cancelled"] as? Bool == true)
        let bStatus = (cancelled["distribute_status"] as? [String: [String: Any]])?[b.nodeID]
        #expect(bStatus?["status"] as? Bool == false)
        #expect(bStatus?["error"] as? String == "cancelled")
        #expect(try await http.send("DELETE", "/api/v1/registry/vm/distribute?id=nope").failedOnItsMerits)

        // Removal from node a: its cache empties and it says so.
        let removed = try await http.send(
            "DELETE",
            "/api/v1/registry/vm/remove?id=\(templateID)",
            body: #"{"node_ids": ["\#(a.nodeID)"]}"#
        )
        #expect((removed.json["body"] as? [String: Any])?["requests_sent"] as? Int == 1)
        try await events.first("node a's cache report") {
            if case .nodeCache(let id) = $0 { return id == a.nodeID }
            return false
        }
        let nodeJSON = try #require(
            try await http.send("GET", "/api/v1/node?id=\(a.nodeID)").json["body"] as? [[String: Any]]
        )
        #expect((nodeJSON.first?["templates"] as? [Any])?.isEmpty == true)
        #expect(nodeJSON.first?["anka_disk_usage"] as? Int == 0)
        #expect(await a.agent.cache.bytes() == 0)

        await a.stop()
        await gateway.stop()
        await cp.stop()
    }

    @Test func badUploadsGetTheFailEnvelopeAndAddNothing() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http
        let noTag = try await http.send("POST", "/berth/v1/registry/push?name=x", body: "junk")
        #expect(noTag.status == 400)
        #expect(noTag.json["status"] as? String == "FAIL")
        let notTar = try await http.send(
            "POST",
            "/berth/v1/registry/push?name=x&tag=v1",
            body: String(repeating: "x", count: 2000)
        )
        #expect(notTar.status == 400)
        #expect((notTar.json["message"] as? String)?.contains("not a tar") == true)
        let gzip = try await Shell.run(
            "/bin/bash",
            ["-c", "echo hi | gzip | curl -sS --data-binary @- '\(gateway.base)/berth/v1/registry/push?name=x&tag=v1'"]
        )
        #expect(gzip.stdout.contains("uncompressed tar"))
        // A tar cut short: nothing is committed.
        let directory = try Self.makeTemplate(seed: 1)
        let cut = try await Shell.run(
            "/bin/bash",
            [
                "-c",
                "tar -C '\(directory.path)' -cf - . | head -c 100000 | curl -sS -T - '\(gateway.base)/berth/v1/registry/push?name=x&tag=v1'",
            ]
        )
        #expect(cut.stdout.contains("truncated"), "\(cut.stdout)")
        let list = try #require(try await http.send("GET", "/api/v1/registry/vm").json["body"] as? [Any])
        #expect(list.isEmpty)
        await gateway.stop()
        await cp.stop()
    }
}
