import BerthTestSupport
import Foundation
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
}
