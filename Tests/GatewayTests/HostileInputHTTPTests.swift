import BerthTestSupport
import Foundation
import NIOCore
import Testing

/// Attacks on the REST surface that must fail cleanly, in the documented envelope.
@Suite struct HostileInputHTTPTests {
    static let root = "hostile-root-token"

    @Test func theRootTokenWithTrailingBytesIsNotTheRootToken() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        for suffix in [String(repeating: "\0", count: 256), "\0", "x", String(repeating: "\0", count: 255)] {
            let credentials = Data("root:\(Self.root)\(suffix)".utf8).base64EncodedString()
            let client = HTTPTestClient(base: gateway.base, authorization: "Basic \(credentials)")
            let reply = try await client.send("GET", "/api/v1/vm")
            #expect(reply.status == 401, "suffix of \(suffix.utf8.count) bytes")
            #expect(reply.json["message"] as? String == "Authentication Required")
        }
        let truncated = Data("root:\(Self.root.dropLast())".utf8).base64EncodedString()
        #expect(
            try await HTTPTestClient(base: gateway.base, authorization: "Basic \(truncated)").send("GET", "/api/v1/vm")
                .status == 401
        )
        #expect(try await gateway.http.send("GET", "/api/v1/vm").status == 200)
        await gateway.stop()
        await cp.stop()
    }

    /// The body of an HTTP answer, and its status code.
    static func parse(_ raw: String) -> (status: Int, body: String) {
        let status = Int(raw.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = raw.range(of: "\r\n\r\n").map { String(raw[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    @Test func anOversizedBodyAnswers413WithoutReadingTheRest() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp)
        // Claims a gigabyte and sends 2 MiB of it: the answer comes and the connection closes.
        let head = "POST /api/v1/vm HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"
        let raw = try await withTimeout(20, "the 413 and the close") {
            try await RawConnections.exchangeTCP(Array(head.utf8) + [UInt8](repeating: 0x20, count: 2 << 20), port: gateway.port)
        }
        let (status, body) = Self.parse(raw)
        #expect(status == 413, "\(raw.prefix(300))")
        #expect(body.contains(#""status":"FAIL""#), "\(body)")
        await gateway.stop()
        await cp.stop()
    }

    @Test func malformedHTTPGetsTheEnvelope() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp)
        let cases: [(String, [UInt8])] = [
            (
                "Content-Length with chunked",
                Array("POST /api/v1/vm HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".utf8)
            ),
            ("a 1 MiB header", Array("GET /api/v1/vm HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 1 << 20))\r\n\r\n".utf8)),
            ("a 100 kB query", Array("GET /api/v1/vm?id=\(String(repeating: "b", count: 100_000)) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)),
            ("an invalid UTF-8 path", Array("GET /api/v1/".utf8) + [0xC3, 0x28, 0xFF] + Array(" HTTP/1.1\r\nHost: x\r\n\r\n".utf8)),
            ("garbage", Array("\u{01}\u{02} nonsense\r\n\r\n".utf8)),
        ]
        for (what, bytes) in cases {
            let raw = try await withTimeout(20, what) { try await RawConnections.exchangeTCP(bytes, port: gateway.port) }
            let (status, body) = Self.parse(raw)
            #expect((400..<500).contains(status), "\(what): \(raw.prefix(200))")
            #expect(body.contains(#""status":"FAIL""#), "\(what): \(raw.prefix(300))")
        }
        #expect(try await gateway.http.send("GET", "/livez").status == 200)
        await gateway.stop()
        await cp.stop()
    }

    @Test func slowHeadersAndBodiesThatNeverEndAreClosedWhileRealClientsAreServed() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp) {
            $0.headerTimeout = 2
            $0.bodyTimeout = 1
            $0.keepAliveTimeout = 1
        }
        // A slowloris crowd: 300 connections, each holding a head that never ends.
        var crowd: [any Channel] = []
        for _ in 0..<300 {
            let channel = try await RawConnections.plainTCP(port: gateway.port)
            // The server may already have closed it on a loaded machine; that is what is tested.
            try? await channel.writeAndFlush(ByteBuffer(string: "GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: "))
            crowd.append(channel)
        }
        // A real client is answered meanwhile.
        #expect(try await gateway.http.send("GET", "/livez").status == 200)
        // Each is closed by the server at the header deadline.
        let everyone = crowd
        // The deadline only bounds the wait: the whole suite shares two cores and two event loops.
        do {
            try await withTimeout(90, "the slowloris crowd to be closed") {
                await RawConnections.waitUntilClosed(everyone.count, of: everyone)
            }
        } catch {
            // How many the server left open, and where they were in the crowd: a clue.
            let open = everyone.indices.filter { everyone[$0].isActive }
            let ports = open.prefix(20).compactMap { everyone[$0].localAddress?.port }
            Issue.record(
                "\(open.count) of \(everyone.count) slow connections still open: \(Array(open.prefix(20))), local ports \(ports)"
            )
            throw error
        }
        // A body that never meets its Content-Length.
        let short = try await RawConnections.plainTCP(port: gateway.port)
        try? await short.writeAndFlush(
            ByteBuffer(string: "POST /api/v1/vm HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"vmid\"")
        )
        // A chunked body that never ends.
        let chunked = try await RawConnections.plainTCP(port: gateway.port)
        try? await chunked.writeAndFlush(
            ByteBuffer(string: "POST /api/v1/vm HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"vmi\r\n")
        )
        try await withTimeout(60, "stalled bodies to be closed") {
            await RawConnections.waitUntilClosed(2, of: [short, chunked])
        }
        #expect(try await gateway.http.send("GET", "/livez").status == 200)
        await gateway.stop()
        await cp.stop()
    }

    /// A full disk (SQLite's own SQLITE_FULL, from a page limit) answers 507 with a message an
    /// operator understands, is logged once per episode, and leaves reads working.
    @Test func fullStorageAnswers507AndReadsKeepWorking() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http
        #expect(try await http.send("POST", "/api/v1/group", body: #"{"name":"before"}"#).status == 200)
        try await cp.database.limitSize(toPages: try await cp.database.pageCount())
        let filler = String(repeating: "x", count: 3000)
        var refused: HTTPTestClient.Reply?
        for index in 0..<200 {
            let reply = try await http.send(
                "POST",
                "/api/v1/group",
                body: #"{"name":"g\#(index)","description":"\#(filler)"}"#
            )
            if reply.status != 200 {
                refused = reply
                break
            }
        }
        let full = try #require(refused)
        #expect(full.status == 507, "\(full.text)")
        #expect(full.json["status"] as? String == "FAIL")
        #expect((full.json["message"] as? String ?? "").contains("storage is full"))
        for index in 0..<5 {
            let again = try await http.send(
                "POST",
                "/api/v1/group",
                body: #"{"name":"again\#(index)","description":"\#(filler)"}"#
            )
            #expect(again.status == 507)
        }
        // One alarm per episode (each refused call has its own "rpc" line as well).
        #expect(cp.logs.count(of: "control plane storage is full: writes are refused") == 1)
        // Reads keep working.
        let groups = try await http.send("GET", "/api/v1/group")
        #expect(groups.status == 200)
        #expect(try await http.send("GET", "/api/v1/vm").status == 200)
        // Space comes back: writes work and the episode ends.
        try await cp.database.limitSize(toPages: 1 << 30)
        #expect(try await http.send("POST", "/api/v1/group", body: #"{"name":"after"}"#).status == 200)
        #expect(cp.logs.contains("storage is writable again"))
        await gateway.stop()
        await cp.stop()
    }

    /// Repeated wrong root tokens from one address get 429 for a while; the right token from
    /// another address is never locked out.
    @Test func guessingTheRootTokenIsLimitedPerSource() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: Self.root) {
            $0.rootTokenFailures = 5
            $0.rootTokenLockout = 600
        }
        let wrong = HTTPTestClient(
            base: gateway.base,
            authorization: "Basic " + Data("root:not-the-token".utf8).base64EncodedString()
        )
        for _ in 0..<5 { #expect(try await wrong.send("GET", "/api/v1/vm").status == 401) }
        let limited = try await wrong.send("GET", "/api/v1/vm")
        #expect(limited.status == 429)
        #expect(limited.json["status"] as? String == "FAIL")
        // From the guessing address even the right token waits out the lockout.
        #expect(try await gateway.http.send("GET", "/api/v1/vm").status == 429)
        // Another address is not affected.
        let elsewhere = try await Curl.run([
            "--interface", "127.0.0.2", "-u", "root:\(Self.root)", "\(gateway.base)/api/v1/vm",
        ])
        #expect(elsewhere.status == 200, "\(elsewhere.stderr)")
        // Health checks need no token and are never limited.
        #expect(try await wrong.send("GET", "/livez").status == 200)
        await gateway.stop()
        await cp.stop()
    }
}
