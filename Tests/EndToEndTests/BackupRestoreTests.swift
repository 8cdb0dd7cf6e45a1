import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Synchronization
import Testing
import WireProtocol

/// `berth backup` and `berth restore` as an operator runs them (the real binary), against a
/// control plane that keeps taking starts while the backup runs.
@Suite struct BackupRestoreTests {
    @Test func aBackupTakenUnderLoadRestoresEveryInstanceAndTheFleetCarriesOn() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let gateway = try await TestGateway.start(cp)
        // A pushed template, so the archive carries chunks and a pull after the restore reads them.
        let pushed = try await Self.push(Self.templateDirectory(), name: "restored-ci", gateway: gateway)

        var roomy = SimulatedDriver.Configuration.fast
        roomy.maxVMCount = 100
        let drivers = (0..<3).map { _ in ObservedDriver(SimulatedDriver(configuration: roomy)) }
        var nodes: [TestAgent] = []
        for (index, driver) in drivers.enumerated() {
            let name = "mini-\(index)"
            nodes.append(cp.startAgent(try await cp.enroll(name: name), name: name, using: driver))
        }
        for node in nodes { try await node.waitConnected() }

        // Load: starts one after another until told to stop; each id is kept once acknowledged.
        let acknowledged = Mutex<[String]>([])
        // Starts sent once the backup had finished: only those are surely not in it (a start
        // answered just before the snapshot may be appended here after the backup returns).
        let sentAfterBackup = Mutex<Set<String>>([])
        let backupDone = Mutex(false)
        let client = try await cp.gatewayClient()
        let started = cp.controlPlane.events.subscribe()
        let load = Task {
            while !Task.isCancelled {
                let sentAfter = backupDone.withLock { $0 }
                guard let id = try? await client.startOne() else { continue }
                acknowledged.withLock { $0.append(id) }
                if sentAfter { sentAfterBackup.withLock { _ = $0.insert(id) } }
            }
        }
        let events = cp.controlPlane.events.subscribe()
        try await events.first("20 acknowledged starts", timeout: 60) { _ in acknowledged.withLock { $0.count >= 20 } }

        let archive = TestPaths.temporaryDirectory("backup").appendingPathComponent("cp.tar")
        let before = Set(acknowledged.withLock { $0 })
        let backup = try await BerthProcess.run(["backup", "--data-dir", cp.directory.url.path, "--out", archive.path])
        backupDone.withLock { $0 = true }
        let afterBackup = acknowledged.withLock { $0.count }
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(backup.stdout.contains("3 nodes"), "\(backup.stdout)")
        // The control plane kept serving: starts go on being acknowledged after the backup.
        try await events.first("10 more starts", timeout: 60) { _ in
            acknowledged.withLock { $0.count >= afterBackup + 10 } && sentAfterBackup.withLock { !$0.isEmpty }
        }
        load.cancel()
        _ = await load.value
        let all = acknowledged.withLock { $0 }
        let later = sentAfterBackup.withLock { $0 }
        let duringBackup = all.count - before.count - later.count
        try await started.instances(Set(all), reach: .started, timeout: 60)
        await client.stop()
        await gateway.stop()
        await cp.stop()

        // The operator restores the archive into a new directory and starts there, same port.
        let restoredDirectory = TestPaths.temporaryDirectory("restored").appendingPathComponent("data")
        let restore = try await BerthProcess.run(["restore", archive.path, "--data-dir", restoredDirectory.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("new command epoch"), "\(restore.stdout)")
        let restored = try await TestControlPlane.start(directory: DataDirectory(restoredDirectory), port: cp.port)
        let after = restored.controlPlane.events.subscribe()
        // Nodes come back by themselves, with the certificates they had.
        for node in nodes { try await node.waitConnected(timeout: 30) }

        let newGateway = try await TestGateway.start(restored)
        let http = newGateway.http
        let listed = try #require(try await http.send("GET", "/api/v1/vm").json["body"] as? [[String: Any]])
        let states = Dictionary(
            listed.compactMap { entry in
                (entry["instance_id"] as? String).map { ($0, (entry["vm"] as? [String: Any])?["instance_state"] as? String) }
            },
            uniquingKeysWith: { first, _ in first }
        )
        // Every instance acknowledged before the backup began is there, and still running.
        let lost = before.filter { states[$0] == nil }
        #expect(lost.isEmpty, "\(lost.count) instances acknowledged before the backup are gone")
        for id in before { #expect(states[id] == "Started", "\(id): \(states[id] ?? "absent")") }
        // Starts acknowledged after the backup are unknown to the restored state, so the nodes
        // are told to remove those VMs rather than run them unaccounted for.
        #expect(later.allSatisfy { states[$0] == nil })
        try await withTimeout(30, "\(later.count) VMs removed from their nodes") {
            var remaining = later
            for await removed in ObservedDriver.terminations(drivers) {
                remaining.remove(removed)
                if remaining.isEmpty { return }
            }
        }
        for driver in drivers {
            let running = Set(await driver.instances().map(\.instanceID))
            #expect(running.isDisjoint(with: later))
        }
        // Starts acknowledged while the backup ran may or may not be in it; none is lost twice.
        #expect(duringBackup >= 0)
        #expect(Set(all).count == all.count)

        // New starts work, including one that pulls the pushed template's restored chunks.
        let fresh = try #require(
            try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(pushed)", "tag": "v1", "count": 2}"#)
                .json["body"] as? [String]
        )
        #expect(fresh.count == 2)
        try await after.instances(Set(fresh), reach: .started, timeout: 60)

        for node in nodes { await node.stop() }
        await newGateway.stop()
        await restored.stop()
    }

    @Test func aStartTheNodeRanAfterTheBackupIsNotRunTwiceAfterTheRestore() async throws {
        // The partition below must not cost the node its session, however busy the machine.
        let cp = try await TestControlPlane.start {
            $0.pingInterval = 10
            $0.offlineTimeout = 120
        }
        try await TestTemplates.seed(cp.database)
        let relay = try await PartitionRelay.start(to: cp.port)
        let enrolled = try await cp.enroll(name: "mini")
        let driver = ObservedDriver(SimulatedDriver(configuration: .fast))
        var node = cp.startAgent(enrolled, name: "mini", using: driver, port: relay.port)
        try await node.waitConnected()

        // The start reaches the outbox but not the node: the backup holds it unacknowledged.
        let events = cp.controlPlane.events.subscribe()
        await relay.cut()
        let client = try await cp.gatewayClient()
        let id = try await client.startOne()
        // Placed (durably, with its start command in the outbox) before the backup is taken.
        _ = try await events.instance(timeout: 60, "the placement") { $0.instanceID == id && !$0.nodeID.isEmpty }
        let archive = TestPaths.temporaryDirectory("backup").appendingPathComponent("cp.tar")
        let backup = try await BerthProcess.run(["backup", "--data-dir", cp.directory.url.path, "--out", archive.path])
        #expect(backup.status == 0, "\(backup.stderr)")
        await relay.heal()
        try await events.instances([id], reach: .started, timeout: 30)
        await node.stop()
        await client.stop()
        await cp.stop()

        let restoredDirectory = TestPaths.temporaryDirectory("restored").appendingPathComponent("data")
        let restore = try await BerthProcess.run(["restore", archive.path, "--data-dir", restoredDirectory.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        let restored = try await TestControlPlane.start(directory: DataDirectory(restoredDirectory), port: cp.port)
        let after = restored.controlPlane.events.subscribe()
        // The node comes back running the VM; the restored outbox sends it the start again.
        node = restored.startAgent(enrolled, name: "mini", using: driver, port: relay.port)
        let reports = Mutex(0)
        _ = try await after.instance(timeout: 30, "the hello's report and the re-sent start's") { record in
            guard record.instanceID == id, record.state == .started else { return false }
            return reports.withLock { count in
                count += 1
                return count == 2
            }
        }
        #expect(await driver.starts(of: id) == 1, "the node started the VM a second time")
        await node.stop()
        await relay.stop()
        await restored.stop()
    }

    @Test func anInstancePlacedAfterTheBackupIsAdoptedWhereItRuns() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        // The node is enrolled but away: the start waits in the queue, and the backup holds it so.
        let enrolled = try await cp.enroll(name: "late")
        let client = try await cp.gatewayClient()
        let id = try await client.startOne()
        let archive = TestPaths.temporaryDirectory("backup").appendingPathComponent("cp.tar")
        let backup = try await BerthProcess.run(["backup", "--data-dir", cp.directory.url.path, "--out", archive.path])
        #expect(backup.status == 0, "\(backup.stderr)")
        // Then the node arrives and runs it.
        let events = cp.controlPlane.events.subscribe()
        let driver = ObservedDriver(SimulatedDriver(configuration: .fast))
        var node = cp.startAgent(enrolled, name: "late", using: driver)
        try await events.instances([id], reach: .started, timeout: 30)
        await node.stop()
        await client.stop()
        await cp.stop()

        // Restored, the state still queues it; the node that runs it reconnects.
        let restoredDirectory = TestPaths.temporaryDirectory("restored").appendingPathComponent("data")
        let restore = try await BerthProcess.run(["restore", archive.path, "--data-dir", restoredDirectory.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        let restored = try await TestControlPlane.start(directory: DataDirectory(restoredDirectory), port: cp.port)
        let after = restored.controlPlane.events.subscribe()
        node = restored.startAgent(enrolled, name: "late", using: driver)
        _ = try await after.instance(timeout: 30, "the adopted instance") {
            $0.instanceID == id && $0.state == .started && $0.nodeID == enrolled.nodeID
        }
        #expect(await driver.starts(of: id) == 1, "the VM was started a second time")
        #expect(restored.logs.contains("adopted an instance", id))
        #expect(!restored.logs.contains("terminating an instance", id))
        await node.stop()
        await restored.stop()
    }

    @Test func aDamagedShortOrForeignArchiveIsRefusedAndLeavesNothing() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp)
        _ = try await Self.push(Self.templateDirectory(), name: "checked", gateway: gateway)
        let archive = TestPaths.temporaryDirectory("backup").appendingPathComponent("cp.tar")
        let backup = try await BerthProcess.run(["backup", "--data-dir", cp.directory.url.path, "--out", archive.path])
        #expect(backup.status == 0, "\(backup.stderr)")
        await gateway.stop()
        await cp.stop()
        let bytes = [UInt8](try Data(contentsOf: archive))

        func refused(_ data: [UInt8], _ expected: String, into target: URL? = nil) async throws {
            let file = TestPaths.temporaryDirectory("bad").appendingPathComponent("bad.tar")
            try Data(data).write(to: file)
            let target = target ?? TestPaths.temporaryDirectory("target").appendingPathComponent("data")
            let result = try await BerthProcess.run(["restore", file.path, "--data-dir", target.path])
            #expect(result.status != 0)
            #expect(result.stderr.contains(expected), "\(result.stderr)")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: target.deletingLastPathComponent().path)) ?? []
            #expect(left.allSatisfy { !$0.contains("restoring") }, "scratch left behind: \(left)")
        }

        // A flipped byte in a chunk's data: the chunk no longer hashes to its name.
        let chunkHeader = try #require(Self.offset(of: "berth-backup/chunks/", in: bytes))
        var damaged = bytes
        damaged[chunkHeader + 512 + 100] ^= 0xFF
        try await refused(damaged, "is damaged")
        // Cut short before the manifest.
        try await refused(Array(bytes[..<(chunkHeader + 512)]), "ends inside an entry")
        try await refused(Array(bytes[..<chunkHeader]), "no manifest")
        // Not a tar at all, and a tar of something else.
        try await refused(Array("hello".utf8) + [UInt8](repeating: 0, count: 600), "not a tar stream")
        let foreign = TestPaths.temporaryDirectory("foreign")
        try Data("x".utf8).write(to: foreign.appendingPathComponent("notes.txt"))
        let tarred = try await Shell.run("/usr/bin/tar", ["-C", foreign.path, "-cf", "-", "notes.txt"])
        try await refused(Array(tarred.stdout.utf8), "unexpected entry notes.txt")
        // A directory that already holds something is never touched.
        let occupied = TestPaths.temporaryDirectory("occupied")
        try Data("keep".utf8).write(to: occupied.appendingPathComponent("berth.sqlite"))
        try await refused(bytes, "is not empty", into: occupied)
        #expect(try Data(contentsOf: occupied.appendingPathComponent("berth.sqlite")) == Data("keep".utf8))
    }

    // MARK: helpers

    /// A template directory whose disk spans several 64 KiB chunks.
    static func templateDirectory() throws -> URL {
        let directory = TestPaths.temporaryDirectory("template")
        var state: UInt64 = 42
        let disk = (0..<(6 * 65_536)).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        try Data(disk).write(to: directory.appendingPathComponent("disk.img"))
        try Data("cpu: 2\nram: 4G\n".utf8).write(to: directory.appendingPathComponent("vm.yaml"))
        return directory
    }

    /// Pushes a directory with tar and curl; returns the template id.
    static func push(_ directory: URL, name: String, gateway: TestGateway) async throws -> String {
        let url = "\(gateway.base)/berth/v1/registry/push?name=\(name)&tag=v1&chunk_size=65536"
        let output = try await Shell.run(
            "/bin/bash",
            ["-o", "pipefail", "-c", "tar -C '\(directory.path)' -cf - . | curl -sS -T - '\(url)'"]
        )
        let json = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        let body = try #require(json?["body"] as? [String: Any], "\(output.stdout) \(output.stderr)")
        return try #require(body["template_id"] as? String)
    }

    static func offset(of text: String, in bytes: [UInt8]) -> Int? {
        let needle = Array(text.utf8)
        guard bytes.count >= needle.count else { return nil }
        return (0...(bytes.count - needle.count)).first { bytes[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}

/// A simulated driver that also announces each instance it terminates.
final class ObservedDriver: InstanceDriver {
    let base: SimulatedDriver
    let removed: AsyncStream<String>
    private let announce: AsyncStream<String>.Continuation
    private let startCounts = Mutex<[String: Int]>([:])

    init(_ base: SimulatedDriver) {
        self.base = base
        (removed, announce) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Every termination of any of `drivers`, as one stream.
    static func terminations(_ drivers: [ObservedDriver]) -> AsyncStream<String> {
        AsyncStream { continuation in
            let tasks = drivers.map { driver in
                Task { for await id in driver.removed { continuation.yield(id) } }
            }
            continuation.onTermination = { _ in tasks.forEach { $0.cancel() } }
        }
    }

    func resources() async -> NodeResources { await base.resources() }
    func instances() async -> [InstanceStatus] { await base.instances() }
    func prepare(_ spec: StartSpec, progress: @Sendable (Double) async -> Void) async throws {
        try await base.prepare(spec, progress: progress)
    }
    func provision(instanceID: String, template: TemplateManifest, from cache: TemplateCache) async throws {
        try await base.provision(instanceID: instanceID, template: template, from: cache)
    }
    func contentDirectory(instanceID: String) async -> URL? { await base.contentDirectory(instanceID: instanceID) }
    func start(instanceID: String, spec: StartSpec) async throws -> VMInfo {
        startCounts.withLock { $0[instanceID, default: 0] += 1 }
        return try await base.start(instanceID: instanceID, spec: spec)
    }

    /// How many times `start` ran for an instance.
    func starts(of instanceID: String) -> Int { startCounts.withLock { $0[instanceID] ?? 0 } }
    func stop(instanceID: String) async throws -> VMInfo? { try await base.stop(instanceID: instanceID) }
    func restart(instanceID: String) async throws -> VMInfo { try await base.restart(instanceID: instanceID) }
    func terminate(instanceID: String) async throws {
        try await base.terminate(instanceID: instanceID)
        announce.yield(instanceID)
    }
    func runScript(instanceID: String, script: [UInt8], timeout: Duration) async -> ScriptResult {
        await base.runScript(instanceID: instanceID, script: script, timeout: timeout)
    }
    func logURL(instanceID: String) -> URL { base.logURL(instanceID: instanceID) }
    func endpoint(instanceID: String, port: Int) async throws -> (host: String, port: Int) {
        try await base.endpoint(instanceID: instanceID, port: port)
    }
}
