import BerthTestSupport
import ControlPlane
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NodeAgent
import Persistence
import Synchronization
import Testing

/// The event log: recorded, queryable over `/berth/v1/events`, pushed to a webhook that
/// may be down, without blocking and without losing anything.
@Suite struct EventLogTests {
    /// A webhook receiver on loopback that answers 503 until told otherwise.
    final class Receiver: Sendable {
        /// The signing secret the receiver checks `X-Berth-Signature` against.
        static let secret = Array("webhook-signing-secret".utf8)
        let failing = Mutex(true)
        /// Bodies whose signature was missing or wrong (answered 401, never counted).
        let badSignatures = Mutex(0)
        /// Ids of the events received, in arrival order.
        let received = Mutex<[Int]>([])
        let refusals = Mutex(0)
        let (arrivals, arrival) = AsyncStream.makeStream(of: Int.self)
        let task: Mutex<Task<Void, any Error>?> = Mutex(nil)

        /// Serves on `port` (0: a free one), and returns the port.
        func start(port: Int = 0) async throws -> Int {
            let router = Router()
            router.post("/hook") { request, context -> HTTPResponse.Status in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 22)
                // Checked independently of Berth's code: HMAC-SHA256 of the exact bytes, in hex.
                let expected = "sha256="
                    + HMAC<SHA256>.authenticationCode(
                        for: Array(body.readableBytesView),
                        using: SymmetricKey(data: Self.secret)
                    ).map { String(format: "%02x", $0) }.joined()
                guard request.headers[HTTPField.Name("X-Berth-Signature")!] == expected else {
                    self.badSignatures.withLock { $0 += 1 }
                    return .unauthorized
                }
                if self.failing.withLock({ $0 }) {
                    self.refusals.withLock { $0 += 1 }
                    return .serviceUnavailable
                }
                let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
                let ids = (json?["events"] as? [[String: Any]] ?? []).map { $0["id"] as? Int ?? 0 }
                let count = self.received.withLock {
                    $0 += ids
                    return $0.count
                }
                self.arrival.yield(count)
                return .ok
            }
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = Application(
                router: router,
                configuration: .init(address: .hostname("127.0.0.1", port: port)),
                onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) },
                logger: TestLogging.logger("webhook")
            )
            task.withLock { $0 = Task { try await app.runService() } }
            var iterator = ports.makeAsyncIterator()
            return await iterator.next() ?? 0
        }

        func stop() async {
            let running = task.withLock { $0 }
            running?.cancel()
            _ = await running?.result
        }
    }

    /// A newly configured webhook starts at the control plane's start: an event written
    /// before the delivery task first runs (an enrollment right after the listener opened)
    /// is delivered too. The position was once taken by the delivery task, after such events.
    @Test func aNewWebhookGetsEveryEventFromTheControlPlanesStart() async throws {
        let receiver = Receiver()
        receiver.failing.withLock { $0 = false }
        let port = try await receiver.start()
        let directory = DataDirectory(TestPaths.temporaryDirectory("cp-webhook"))
        try directory.initialize()
        var configuration = ControlPlaneConfiguration()
        configuration.port = 0
        configuration.eventWebhook = URL(string: "http://127.0.0.1:\(port)/hook")
        configuration.eventWebhookSecret = Receiver.secret
        let database = try directory.openDatabase()
        try await database.appendEvents([EventLogRow(ts: 1, kind: "before.start", subject: "", message: "")])
        let controlPlane = try await ControlPlane(
            configuration: configuration,
            database: database,
            authority: try directory.loadAuthority(),
            serverIdentity: try directory.loadServerIdentity(),
            logger: TestLogging.logger("cp-webhook")
        )
        // Written after the control plane started, before its delivery task runs.
        _ = try await controlPlane.enrollment.createToken(ttl: 60)
        let tokenEvent = try #require(try await database.events(kindPrefix: "token.created").first?.id)
        let task = Task { try await controlPlane.run() }
        try await withTimeout(30, "the token's event at the webhook") {
            for await _ in receiver.arrivals where receiver.received.withLock({ $0.contains(Int(tokenEvent)) }) { break }
        }
        // The token's event, and not the one from before the start.
        #expect(!receiver.received.withLock { $0 }.contains(1))
        task.cancel()
        _ = await task.result
        await receiver.stop()
    }

    @Test func eventsAreQueryableAndReachAWebhookThatWasDown() async throws {
        let receiver = Receiver()
        let port = try await receiver.start()
        let cp = try await TestControlPlane.start {
            $0.eventWebhook = URL(string: "http://127.0.0.1:\(port)/hook")
            $0.eventWebhookSecret = Receiver.secret
        }
        try await TestTemplates.seed(cp.database)
        let node = cp.startAgent(try await cp.enroll(name: "mini"), name: "mini")
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp, rootToken: "events-root-token")
        let http = gateway.http

        // Actions while the webhook refuses everything: none of them waits for it.
        let events = cp.controlPlane.events.subscribe()
        let started = try await http.send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(TestTemplates.linux)", "count": 2}"#
        )
        let ids = try #require(started.json["body"] as? [String])
        try await events.instances(Set(ids), reach: .started)
        #expect(try await http.send("POST", "/api/v1/group", body: #"{"name": "audited"}"#).status == 200)
        for id in ids {
            #expect(try await http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(id)"}"#).status == 200)
        }
        try await events.instances(Set(ids), reach: .terminated)

        // Queryable, newest first, filterable by kind and subject, with the actor.
        let all = try #require(
            try await http.send("GET", "/berth/v1/events?limit=500").json["body"] as? [[String: Any]]
        )
        let kinds = all.map { $0["kind"] as? String ?? "" }
        #expect(kinds.contains("api.startInstances"))
        #expect(kinds.contains("api.createGroup"))
        #expect(kinds.contains("instance.started"))
        #expect(kinds.contains("instance.terminated"))
        #expect(kinds.contains("node.active"))
        let eventIDs = all.map { $0["id"] as? Int ?? 0 }
        #expect(eventIDs == eventIDs.sorted(by: >))
        let start = try #require(all.first { $0["kind"] as? String == "api.startInstances" })
        #expect(start["actor"] as? String == "root")
        #expect(start["subject"] as? String == ids.joined(separator: ","))
        let first = ids[0]
        let history = try #require(
            try await http.send("GET", "/berth/v1/events?subject=\(first)&kind=instance.").json["body"]
                as? [[String: Any]]
        )
        #expect(history.map { $0["kind"] as? String ?? "" }.reversed().starts(with: ["instance.scheduling"]))
        #expect(history.allSatisfy { $0["subject"] as? String == first })
        // (Events written after the listing above may follow; the limit keeps this exact.)
        let newest = eventIDs.first ?? 0
        let tail = try #require(
            try await http.send("GET", "/berth/v1/events?after=\(newest - 3)&limit=3").json["body"] as? [[String: Any]]
        )
        #expect(tail.map { $0["id"] as? Int ?? 0 } == [newest - 2, newest - 1, newest])
        // after=0 is "from the start", oldest first, not "after not set".
        let fromStart = try #require(
            try await http.send("GET", "/berth/v1/events?after=0&limit=2").json["body"] as? [[String: Any]]
        )
        #expect(fromStart.map { $0["id"] as? Int ?? 0 } == [1, 2])

        // The webhook was refused at least once and got nothing; now it comes back.
        #expect(receiver.refusals.withLock { $0 } > 0)
        #expect(receiver.received.withLock { $0.isEmpty })
        receiver.failing.withLock { $0 = false }
        let expected = all.count
        try await withTimeout(30, "the webhook to receive \(expected) events") {
            for await count in receiver.arrivals where count >= expected { break }
        }
        let delivered = receiver.received.withLock { $0 }
        // Everything, in order, nothing twice.
        #expect(Array(delivered.prefix(expected)) == eventIDs.reversed())
        #expect(Set(delivered).count == delivered.count)

        // The receiver goes away altogether (connections refused), events happen, and it
        // comes back on the same port: the events wait and arrive, in order, after the rest.
        await receiver.stop()
        for name in ["while-down-1", "while-down-2", "while-down-3"] {
            #expect(try await http.send("POST", "/api/v1/group", body: #"{"name": "\#(name)"}"#).status == 200)
        }
        let whileDown = try #require(
            try await http.send("GET", "/berth/v1/events?after=\(newest)&limit=500").json["body"] as? [[String: Any]]
        ).map { $0["id"] as? Int ?? 0 }
        #expect(whileDown.count >= 3)
        #expect(try await receiver.start(port: port) == port)
        let wanted = Set(whileDown)
        if !wanted.isSubset(of: Set(receiver.received.withLock { $0 })) {
            try await withTimeout(30, "the events recorded while the webhook was down") {
                for await _ in receiver.arrivals where wanted.isSubset(of: Set(receiver.received.withLock { $0 })) {
                    break
                }
            }
        }
        // Delivery is at least once: the receiver may have been stopped after taking a batch
        // but before its 200 reached the control plane, which then sends that batch again
        // (the ids are there to drop it). Taken once each, the events are all there, in order.
        let all2 = receiver.received.withLock { $0 }
        var seen = Set<Int>()
        let firstArrivals = all2.filter { seen.insert($0).inserted }
        #expect(firstArrivals == firstArrivals.sorted(), "\(all2)")
        #expect(firstArrivals == Array(1...(firstArrivals.last ?? 0)), "\(all2)")
        #expect(receiver.badSignatures.withLock { $0 } == 0)

        await node.stop()
        await gateway.stop()
        await cp.stop()
        await receiver.stop()
    }
}
