import BerthTestSupport
import Foundation
import RESTGateway
import TLSTransport
import Testing

/// The OpenAPI document against the routes the gateway really has, and as it is served.
@Suite struct OpenAPITests {
    static let methods = ["get", "put", "post", "delete", "patch", "head", "options"]
    /// Where the API lives; everything else the router serves is the dashboard (portal.md).
    static let apiPrefixes = ["/api", "/admin", "/tap", "/berth", "/config", "/livez", "/readyz", "/metrics", "/openapi.json"]

    /// `METHOD /path` of every operation in the document.
    static func documentedOperations() throws -> Set<String> {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes)) as? [String: Any]
        )
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations = Set<String>()
        for (path, item) in paths {
            for method in methods where item[method] != nil { operations.insert("\(method.uppercased()) \(path)") }
        }
        return operations
    }

    /// `METHOD /path` of every API route (the dashboard's pages and assets are not API).
    static func routedOperations() throws -> Set<String> {
        let authority = try CertificateAuthority.create()
        let identity = try authority.issueIdentity(PeerIdentity(role: .gateway, id: "openapi"), validity: 60)
        let client = ControlPlaneClient(
            configuration: .init(host: "127.0.0.1", port: 1, identity: identity, trustRoot: authority.certificate)
        )
        let gateway = Gateway(configuration: GatewayConfiguration(), client: client)
        return Set(
            gateway.makeRouter().routes.map { route in
                let path = route.path.description.split(separator: "/").map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }.joined(separator: "/")
                return "\(route.method.rawValue) /\(path)"
            }.filter { operation in
                let path = operation.split(separator: " ")[1]
                return Self.apiPrefixes.contains { path == $0 || path.hasPrefix($0 + "/") }
            }
        )
    }

    @Test func everyRouteIsDocumentedAndEveryOperationIsRouted() throws {
        let documented = try Self.documentedOperations()
        let routed = try Self.routedOperations()
        let undocumented = routed.subtracting(documented).sorted()
        let unrouted = documented.subtracting(routed).sorted()
        #expect(undocumented.isEmpty, "routes missing from openapi.json:\n\(undocumented.joined(separator: "\n"))")
        #expect(unrouted.isEmpty, "operations in openapi.json with no route:\n\(unrouted.joined(separator: "\n"))")
    }

    @Test func theGatewayServesTheDocumentWithoutCredentials() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await TestGateway.start(cp, rootToken: "s3cret")
        let anonymous = HTTPTestClient(base: gateway.base, authorization: nil)
        let reply = try await anonymous.send("GET", "/openapi.json")
        #expect(reply.status == 200)
        #expect(reply.contentType.hasPrefix("application/json"))
        #expect([UInt8](reply.data) == OpenAPIDocument.bytes)
        #expect(try await anonymous.send("GET", "/api/v1/vm").status == 401)
        await gateway.stop()
        await cp.stop()
    }
}
