import BerthTestSupport
import ControlPlane
import Foundation
import RESTGateway
import Testing

/// The gateway's HTTPS with the real curl: HTTP/1.1 and HTTP/2 by ALPN, and client
/// certificates as credentials (`CN` the user, `OU` values or else `O` values the groups).
@Suite struct HTTPSTests {
    static let root = "https-root-token"

    @Test func httpsServesBothHTTPVersionsAndClientCertificatesAuthenticate() async throws {
        let pki = try TestWebPKI()
        let server = try pki.server()
        let tls = try GatewayTLS.load(
            certificatePath: server.certificate,
            keyPath: server.key,
            clientCAPath: pki.caPath
        )
        let cp = try await TestControlPlane.start { $0.authorization = true }
        let gateway = try await TestGateway.start(cp, rootToken: Self.root, tls: tls)
        let base = "https://127.0.0.1:\(gateway.port)"
        let trust = ["--cacert", pki.caPath]
        let rootAuth = ["-u", "root:\(Self.root)"]

        // ALPN: HTTP/2 when asked for, HTTP/1.1 otherwise; the root token works on both.
        let h2 = try await Curl.run(trust + rootAuth + ["--http2", "\(base)/api/v1/status"])
        #expect(h2.status == 200, "\(h2.stderr) \(h2.body)")
        #expect(h2.httpVersion == "2")
        #expect(h2.json["status"] as? String == "OK")
        let h1 = try await Curl.run(trust + rootAuth + ["--http1.1", "\(base)/api/v1/vm"])
        #expect(h1.status == 200)
        #expect(h1.httpVersion == "1.1")
        // A JSON body over HTTP/2 without a content type, as the docs' curl examples send.
        let created = try await Curl.run(
            trust + rootAuth + ["--http2", "-X", "POST", "\(base)/api/v1/group", "-d", #"{"name":"over-h2"}"#]
        )
        #expect(created.status == 200, "\(created.body)")

        // No credentials at all: the exact 401.
        let anonymous = try await Curl.run(trust + ["\(base)/api/v1/vm"])
        #expect(anonymous.status == 401)
        #expect(anonymous.json["message"] as? String == "Authentication Required")

        // OU values are the groups (spaces allowed); permissions follow them.
        let alice = try pki.client(
            name: "alice",
            commonName: "alice",
            units: ["mac builders", "ci"],
            organizations: ["Acme"]
        )
        let aliceArgs = trust + ["--cert", alice.certificate, "--key", alice.key]
        let deniedList = try await Curl.run(aliceArgs + ["\(base)/api/v1/vm"])
        #expect(deniedList.status == 403)
        #expect((deniedList.json["message"] as? String)?.contains("list_vms") == true)
        let grant = try await Curl.run(
            trust + rootAuth + [
                "-X", "PUT", "\(base)/admin/api/v1/permission/group/mac%20builders/permissions", "-d", #"["list_vms"]"#,
            ]
        )
        #expect(grant.status == 200, "\(grant.body)")
        for version in ["--http1.1", "--http2"] {
            let listed = try await Curl.run(aliceArgs + [version, "\(base)/api/v1/vm"])
            #expect(listed.status == 200, "\(version): \(listed.body)")
        }
        let deniedCreate = try await Curl.run(
            aliceArgs + ["-X", "POST", "\(base)/api/v1/group", "-d", #"{"name":"x"}"#]
        )
        #expect(deniedCreate.status == 403)
        #expect((deniedCreate.json["message"] as? String)?.contains("create_group") == true)
        // "Acme" (an O) is not one of alice's groups, because she has OU values.
        _ = try await Curl.run(
            trust + rootAuth + [
                "-X", "PUT", "\(base)/admin/api/v1/permission/group/Acme/permissions", "-d", #"["create_group"]"#,
            ]
        )
        #expect(
            try await Curl.run(aliceArgs + ["-X", "POST", "\(base)/api/v1/group", "-d", #"{"name":"x"}"#]).status == 403
        )

        // Without OU, every O value is a group.
        let bob = try pki.client(name: "bob", commonName: "bob", organizations: ["Acme", "Night Shift"])
        let bobCreate = try await Curl.run(
            trust + [
                "--cert", bob.certificate, "--key", bob.key, "-X", "POST", "\(base)/api/v1/group", "-d",
                #"{"name":"bobs"}"#,
            ]
        )
        #expect(bobCreate.status == 200, "\(bobCreate.body)")

        // A certificate from another CA does not get through the TLS handshake.
        let stranger = try TestWebPKI(commonName: "Other CA").client(name: "eve", commonName: "eve", units: ["ci"])
        let refused = try await Curl.run(
            trust + ["--cert", stranger.certificate, "--key", stranger.key, "\(base)/api/v1/vm"]
        )
        #expect(refused.exitCode != 0 || refused.status == 401, "\(refused.status) \(refused.stderr)")
        #expect(refused.status != 200)
        await gateway.stop()
        await cp.stop()
    }

    /// TLS 1.2 offers AEAD suites only; CBC suites (`AES256-SHA` and the like) are refused, and
    /// `tls13Only` refuses TLS 1.2 altogether.
    @Test func tls12OffersAEADSuitesOnly() async throws {
        let pki = try TestWebPKI()
        let server = try pki.server()
        let cp = try await TestControlPlane.start()
        for tls13Only in [false, true] {
            let tls = try GatewayTLS.load(
                certificatePath: server.certificate,
                keyPath: server.key,
                clientCAPath: nil,
                tls13Only: tls13Only
            )
            let gateway = try await TestGateway.start(cp, name: "tls-\(tls13Only)", tls: tls)
            let url = "https://127.0.0.1:\(gateway.port)/livez"
            let base = ["--cacert", pki.caPath, "--tlsv1.2", "--tls-max", "1.2"]
            for cbc in ["AES256-SHA", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384"] {
                let refused = try await Curl.run(base + ["--ciphers", cbc, url])
                #expect(refused.exitCode != 0, "\(cbc) was accepted")
            }
            let aead = try await Curl.run(base + ["--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256", url])
            #expect((aead.exitCode == 0) == !tls13Only, "AEAD over TLS 1.2, tls13Only=\(tls13Only): \(aead.stderr)")
            let modern = try await Curl.run(["--cacert", pki.caPath, "--tlsv1.3", url])
            #expect(modern.status == 200, "\(modern.stderr)")
            await gateway.stop()
        }
        await cp.stop()
    }
}
