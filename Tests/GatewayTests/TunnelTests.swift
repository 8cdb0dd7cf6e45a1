import AsyncHTTPClient
import BerthTestSupport
import ControlPlane
import Crypto
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NodeAgent
import RESTGateway
import TLSTransport
import WireProtocol
import Testing
import _CryptoExtras

/// VM access tunnels over real sockets: a process-driver instance runs a TCP echo server on
/// its own address, and clients reach it through the gateway, the control plane and the node.
///
/// Serialized: each test moves megabytes through a debug build, and side by side they
/// would starve the rest of the suite of the machine's two cores.
@Suite(.serialized) struct TunnelTests {
    static let root = "tunnel-root-token-0123"
    static let echoPort = 7000

    /// A TCP echo server on the instance's own address (a thread per connection).
    static let echoServer = """
        import os, socket, threading
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((os.environ["INSTANCE_IP"], \(echoPort)))
        s.listen(16)
        def serve(c):
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.close()
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
        """

    /// The startup script holds Started back until the echo server listens.
    static let waitForEcho = Data(
        """
        for i in $(seq 200); do (exec 3<>/dev/tcp/$INSTANCE_IP/\(echoPort)) 2>/dev/null && exit 0; sleep 0.05; done
        exit 1

        """.utf8
    ).base64EncodedString()

    struct Fleet {
        let cp: TestControlPlane
        let gateway: TestGateway
        let agent: TestAgent
        let driver: ProcessDriver
        let events: AsyncStream<FleetEvent>
        let http: HTTPClient

        /// Starts an echo instance and waits until it is Started (its server listening).
        func startEcho() async throws -> String {
            let reply = try await gateway.http.send(
                "POST",
                "/api/v1/vm",
                body: #"{"vmid": "\#(TestTemplates.linux)", "startup_script": "\#(TunnelTests.waitForEcho)", "script_monitoring": true}"#
            )
            #expect(reply.status == 200, "\(reply.text)")
            let id = try #require((reply.json["body"] as? [String])?.first)
            _ = try await events.instance(where: { $0.instanceID == id && $0.state == .started })
            return id
        }

        func stop() async {
            try? await http.shutdown()
            // Instances are host processes that outlive their agent: end them.
            for instance in await driver.instances() { try? await driver.terminate(instanceID: instance.instanceID) }
            await agent.stop()
            await gateway.stop()
            await cp.stop()
        }
    }

    static func fleet(
        authorization: Bool = false,
        configure: (inout ControlPlaneConfiguration) -> Void = { _ in }
    ) async throws -> Fleet {
        let cp = try await TestControlPlane.start {
            $0.authorization = authorization
            configure(&$0)
        }
        try await TestTemplates.seed(cp.database)
        let root = TestPaths.temporaryDirectory("tunnel-driver")
        let server = root.appendingPathComponent("echo.py")
        try Data(echoServer.utf8).write(to: server)
        var configuration = ProcessDriver.Configuration(root: root)
        configuration.vmCommand = "exec python3 \(server.path)"
        configuration.maxVMCount = 4
        let driver = ProcessDriver(configuration: configuration)
        let agent = cp.startAgent(try await cp.enroll(name: "linux-1"), name: "linux-1", using: driver)
        try await agent.waitConnected()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        return Fleet(
            cp: cp,
            gateway: gateway,
            agent: agent,
            driver: driver,
            events: cp.controlPlane.events.subscribe(),
            http: HTTPClient(eventLoopGroupProvider: .singleton)
        )
    }

    /// A client's end of a tunnel: what it sends goes in the request body as it is fed, and
    /// what comes back is read from the response body.
    struct Stream {
        let feed: AsyncStream<ByteBuffer>.Continuation
        let response: HTTPClientResponse

        static func open(
            _ fleet: Fleet,
            id: String,
            port: Int = TunnelTests.echoPort,
            authorization: String = "Basic " + Data("root:\(TunnelTests.root)".utf8).base64EncodedString(),
            base: String? = nil,
            http: HTTPClient? = nil
        ) async throws -> Stream {
            let (body, feed) = AsyncStream.makeStream(of: ByteBuffer.self)
            let base = base ?? fleet.gateway.base
            var request = HTTPClientRequest(url: "\(base)/berth/v1/vm/port-forward?id=\(id)&port=\(port)")
            request.method = .POST
            request.headers.add(name: "Authorization", value: authorization)
            request.body = .stream(body, length: .unknown)
            let response = try await (http ?? fleet.http).execute(request, timeout: .seconds(60))
            return Stream(feed: feed, response: response)
        }

        /// Reads until `count` bytes came back.
        func read(_ count: Int) async throws -> [UInt8] {
            var received: [UInt8] = []
            received.reserveCapacity(count)
            for try await buffer in response.body {
                received += buffer.readableBytesView
                if received.count >= count { break }
            }
            return received
        }
    }

    /// `count` random bytes, drawn eight at a time (a byte at a time is slow in a debug build).
    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var index = 0
            while index < count {
                var word = generator.next()
                for _ in 0..<min(8, count - index) {
                    buffer[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    index += 1
                }
            }
            initialized = count
        }
    }

    /// Whether two byte strings are equal, without Swift Testing diffing megabytes on failure.
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && SHA256.hash(data: a) == SHA256.hash(data: b)
    }

    /// Feeds `bytes` in 64 KiB pieces.
    static func send(_ bytes: [UInt8], on stream: Stream) {
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + 65_536, bytes.count)
            stream.feed.yield(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
        }
    }

    @Test func tenMebibytesEchoThroughTheTunnelByteForByte() async throws {
        let fleet = try await Self.fleet()
        let id = try await fleet.startEcho()
        let vm = try #require(try await fleet.gateway.http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any])
        #expect(((vm["vminfo"] as? [String: Any])?["ip"] as? String)?.hasPrefix("127.66.") == true)

        let closed = fleet.cp.controlPlane.events.subscribe()
        let stream = try await Stream.open(fleet, id: id)
        #expect(stream.response.status == .ok)
        let sent = Self.random(10 << 20)
        Self.send(sent, on: stream)
        let received = try await stream.read(sent.count)
        #expect(received.count == sent.count)
        #expect(SHA256.hash(data: received) == SHA256.hash(data: sent))
        stream.feed.finish()

        // The stream is in the event log once it ends: who, which port, the bytes, how long.
        try await withTimeout(10, "the tunnel to close") {
            for await event in closed { if event == .tunnelClosed(instanceID: id) { return } }
        }
        let logged = try #require(
            try await fleet.gateway.http.send("GET", "/berth/v1/events?kind=tunnel.&subject=\(id)").json["body"]
                as? [[String: Any]]
        )
        #expect(logged.count == 1)
        let message = logged.first?["message"] as? String ?? ""
        #expect(logged.first?["actor"] as? String == "root")
        #expect(message.contains("port \(Self.echoPort)") && message.contains("\(sent.count) bytes in"), "\(message)")
        #expect(message.contains("\(sent.count) bytes out"), "\(message)")
        await fleet.stop()
    }

    /// Echoes `count` random bytes through `stream` and checks them.
    static func echo(_ count: Int, through stream: Stream) async throws {
        let sent = random(count)
        send(sent, on: stream)
        let received = try await stream.read(count)
        #expect(received.count == count)
        #expect(SHA256.hash(data: received) == SHA256.hash(data: sent))
    }

    @Test func aStalledStreamHoldsUpNoOtherAndEndsWithItsInstance() async throws {
        let fleet = try await Self.fleet()
        let id = try await fleet.startEcho()
        let closed = fleet.cp.controlPlane.events.subscribe()
        // A client that sends 4 MiB (eight windows) and never reads: the echo server blocks writing to it,
        // the node stops reading its socket once the gateway's credit is used up, and the
        // gateway stops reading the client once the node's is.
        let stalled = try await Stream.open(fleet, id: id)
        Self.send(Self.random(4 << 20), on: stalled)
        // Another stream to the same instance, on the same node connection, moves 4 MiB.
        let moving = try await Stream.open(fleet, id: id)
        try await Self.echo(4 << 20, through: moving)
        moving.feed.finish()
        #expect(fleet.cp.controlPlane.openTunnels >= 1)

        // Terminating the instance ends the stalled stream too.
        #expect(try await fleet.gateway.http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(id)"}"#).status == 200)
        try await withTimeout(20, "both tunnels to close") {
            var ended = 0
            for await event in closed where event == .tunnelClosed(instanceID: id) {
                ended += 1
                if ended == 2 { return }
            }
        }
        #expect(fleet.cp.controlPlane.openTunnels == 0)
        await fleet.stop()
    }

    @Test func anAccessTokenOpensItsOwnInstanceOnlyAndNotAfterItExpires() async throws {
        let fleet = try await Self.fleet(authorization: true)
        let first = try await fleet.startEcho()
        let second = try await fleet.startEcho()
        let granted = try await fleet.gateway.http.send(
            "POST",
            "/berth/v1/vm/access-token",
            body: #"{"id": "\#(first)", "ttl": 300}"#
        )
        #expect(granted.status == 200, "\(granted.text)")
        let body = try #require(granted.json["body"] as? [String: Any])
        let token = try #require(body["token"] as? String)
        #expect(token.hasPrefix("bat1."))
        #expect(body["instance_id"] as? String == first)
        let bearer = "Bearer " + token

        // Its own instance: open.
        let own = try await Stream.open(fleet, id: first, authorization: bearer)
        #expect(own.response.status == .ok)
        try await Self.echo(64 << 10, through: own)
        own.feed.finish()
        // Another instance: refused. Any API call: refused.
        let other = try await Stream.open(fleet, id: second, authorization: bearer)
        #expect(other.response.status == .forbidden)
        other.feed.finish()
        let api = try await HTTPTestClient(base: fleet.gateway.base, authorization: bearer).send("GET", "/api/v1/vm")
        #expect(api.status == 403, "\(api.text)")
        let minted = try await HTTPTestClient(base: fleet.gateway.base, authorization: bearer).send(
            "POST",
            "/berth/v1/vm/access-token",
            body: #"{"id": "\#(second)"}"#
        )
        #expect(minted.status == 403, "\(minted.text)")

        // Expired (issued 700 s ago for 600 s), or tampered with: 401.
        let expired = try await fleet.cp.controlPlane.issueAccessToken(
            instanceID: first,
            ttlSeconds: 600,
            issuer: "root",
            issuedAt: Int(Date().timeIntervalSince1970) - 700
        )
        let late = try await Stream.open(fleet, id: first, authorization: "Bearer " + expired)
        #expect(late.response.status == .unauthorized)
        late.feed.finish()
        let forged = try await Stream.open(fleet, id: first, authorization: bearer + "x")
        #expect(forged.response.status == .unauthorized)
        forged.feed.finish()

        // Under authorization, a key without connect_vm may neither tunnel nor mint tokens.
        let viewers = try await fleet.gateway.http.send(
            "POST",
            "/admin/api/v1/permission/group",
            body: #"{"name": "viewers", "permissions": ["list_vms"]}"#
        )
        #expect(viewers.status == 200)
        let created = try await fleet.gateway.http.send(
            "POST",
            "/api/v1/apikey",
            body: #"{"id": "viewer", "ttl": 3600, "groups": ["viewers"]}"#
        )
        let privateBase64 = try #require(created.json["body"] as? String)
        let privateDER = try #require(Data(base64Encoded: privateBase64))
        let privateKey = try _RSA.Encryption.PrivateKey(derRepresentation: privateDER)
        let data = try await TAPTests.handshake(
            HTTPTestClient(base: fleet.gateway.base, authorization: nil),
            id: "viewer",
            key: privateKey
        )
        let session = try JSONSerialization.data(withJSONObject: data)
        let key = "Bearer " + session.base64EncodedString()
        let refused = try await Stream.open(fleet, id: first, authorization: key)
        #expect(refused.response.status == .forbidden)
        refused.feed.finish()
        await fleet.stop()
    }

    /// `berth vm port-forward` as a subprocess: a local port that reaches the instance's.
    @Test func theCLIForwardsALocalPortToTheInstance() async throws {
        let fleet = try await Self.fleet()
        let id = try await fleet.startEcho()
        let cli = try BerthProcess([
            "vm", "port-forward", id, "0:\(Self.echoPort)", "--gateway", fleet.gateway.base, "--token", Self.root,
        ])
        let line = try await cli.line(containing: "forwarding 127.0.0.1:")
        let port = try #require(Int(line.split(separator: ":")[1].split(separator: " ")[0]))
        for round in 0..<2 {
            let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            let sent = Self.random((1 << 20) + round)
            try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: sent))
                var received: [UInt8] = []
                for try await buffer in inbound {
                    received += buffer.readableBytesView
                    if received.count >= sent.count { break }
                }
                #expect(received.count == sent.count, "round \(round)")
                #expect(Self.same(received, sent), "round \(round)")
            }
        }
        await cli.stop()
        await fleet.stop()
    }

    @Test func capsAndRefusalsAnswerWithTheirStatusAndMessage() async throws {
        let fleet = try await Self.fleet { $0.maxTunnelsPerInstance = 2 }
        let id = try await fleet.startEcho()
        let closed = fleet.cp.controlPlane.events.subscribe()
        let first = try await Stream.open(fleet, id: id)
        let second = try await Stream.open(fleet, id: id)
        #expect(first.response.status == .ok && second.response.status == .ok)
        let third = try await Stream.open(fleet, id: id)
        #expect(third.response.status == .tooManyRequests)
        let refusal = try await third.response.body.collect(upTo: 1 << 16)
        #expect(String(buffer: refusal).contains("too many tunnels"), "\(String(buffer: refusal))")
        third.feed.finish()
        // One closes: there is room again.
        first.feed.finish()
        try await withTimeout(10, "a tunnel to close") {
            for await event in closed where event == .tunnelClosed(instanceID: id) { return }
        }
        let again = try await Stream.open(fleet, id: id)
        #expect(again.response.status == .ok)
        try await Self.echo(1024, through: again)
        again.feed.finish()
        second.feed.finish()

        let cases: [(String, Int, UInt, String)] = [
            (id, 0, 400, "port must be"),
            ("no-such-instance", 22, 404, "No such instance"),
            (id, 1, 502, "refused the connection"),
        ]
        for (instance, port, status, message) in cases {
            let stream = try await Stream.open(fleet, id: instance, port: port)
            #expect(stream.response.status.code == status, "\(instance):\(port)")
            let body = String(buffer: try await stream.response.body.collect(upTo: 1 << 16))
            #expect(body.contains(message) && body.contains("FAIL"), "\(body)")
            stream.feed.finish()
        }
        await fleet.stop()

        // A simulated node's instances have no network: the node says so.
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let agent = cp.startAgent(try await cp.enroll(name: "sim-1"), name: "sim-1")
        try await agent.waitConnected()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        let events = cp.controlPlane.events.subscribe()
        let started = try await gateway.http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(TestTemplates.linux)"}"#)
        let simulated = try #require((started.json["body"] as? [String])?.first)
        _ = try await events.instance(where: { $0.instanceID == simulated && $0.state == .started })
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let plain = Fleet(cp: cp, gateway: gateway, agent: agent, driver: fleet.driver, events: events, http: http)
        let refused = try await Stream.open(plain, id: simulated, port: 22)
        #expect(refused.response.status == .conflict)
        let body = String(buffer: try await refused.response.body.collect(upTo: 1 << 16))
        #expect(body.contains("no network"), "\(body)")
        refused.feed.finish()
        await plain.stop()
    }

    /// A gateway that sends past the credit it was granted loses that tunnel, not its
    /// connection; a malformed tunnel frame closes its connection only.
    @Test func aGatewayThatOverrunsItsCreditLosesTheTunnelNotTheConnection() async throws {
        let fleet = try await Self.fleet()
        let id = try await fleet.startEcho()
        let identity = try await fleet.cp.controlPlane.issueGatewayIdentity(name: "hostile")
        let connection = try await RawConnections.framed(
            port: fleet.cp.port,
            identity: identity,
            trustRoot: fleet.cp.authority.certificate
        )
        try await connection.executeThenClose { inbound, outbound in
            var frames = inbound.makeAsyncIterator()
            _ = try await ControlPlaneHandshake.greet(connection.channel, frames: &frames, hello: Hello())
            try await outbound.write(
                TunnelOpen(instanceID: id, port: Self.echoPort, window: 1 << 20, principal: .root).frame(streamID: 9)
            )
            var window = 0
            while let frame = try await frames.next() {
                if frame.type == .tunnelReply {
                    let reply = try TunnelReply(payload: frame.payload)
                    #expect(reply.isOpen, "\(reply.error)")
                    window = reply.window
                    break
                }
            }
            #expect(window == TunnelLimits.window)
            // Twice the window, without waiting for credit.
            let chunk = ByteBuffer(repeating: 7, count: TunnelLimits.maxDataFrame)
            for _ in 0..<(2 * window / TunnelLimits.maxDataFrame) {
                try await outbound.write(Frame(type: .tunnelData, streamID: 9, payload: chunk))
            }
            var reason = ""
            while let frame = try await frames.next() {
                if frame.type == .tunnelClose, frame.streamID == 9 {
                    reason = try TunnelClose(payload: frame.payload).reason
                    break
                }
            }
            #expect(reason.contains("past the tunnel's window"), "\(reason)")
            // The connection is still served.
            try await outbound.write(Ping(nonce: 42).frame())
            while let frame = try await frames.next() {
                if frame.type == .pong {
                    #expect(try Pong(payload: frame.payload).nonce == 42)
                    break
                }
            }
            // A malformed open closes this connection (with an error frame), nothing else.
            try await outbound.write(
                Frame(type: .tunnelOpen, streamID: 10, payload: ByteBuffer(bytes: [0x0A, 0xFF]))
            )
            var sawError = false
            while let frame = try await frames.next() {
                if frame.type == .error { sawError = true }
            }
            #expect(sawError)
        }
        #expect(fleet.cp.controlPlane.openTunnels == 0)
        // The real gateway still tunnels.
        let stream = try await Stream.open(fleet, id: id)
        try await Self.echo(4096, through: stream)
        stream.feed.finish()
        await fleet.stop()
    }

    /// Over HTTPS the stream is an HTTP/2 stream (ALPN), full duplex.
    @Test func overHTTPSTheTunnelIsAnHTTP2Stream() async throws {
        let fleet = try await Self.fleet()
        let id = try await fleet.startEcho()
        let pki = try TestWebPKI()
        let server = try pki.server(name: "gateway")
        let tls = try GatewayTLS.load(certificatePath: server.certificate, keyPath: server.key, clientCAPath: nil)
        let secure = try await TestGateway.start(fleet.cp, rootToken: Self.root, name: "gw-tls", tls: tls)
        var trust = TLSConfiguration.makeClientConfiguration()
        trust.trustRoots = .file(pki.caPath)
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = trust
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let stream = try await Stream.open(fleet, id: id, base: "https://127.0.0.1:\(secure.port)", http: http)
        #expect(stream.response.status == .ok)
        #expect(stream.response.version == .http2)
        try await Self.echo(1 << 20, through: stream)
        stream.feed.finish()
        try await http.shutdown()
        await secure.stop()
        await fleet.stop()
    }
}
