import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WireProtocol

/// `POST /berth/v1/vm/port-forward?id=<instance>&port=<guest port>`: a TCP stream to an
/// instance's port, through the control plane and the instance's node.
///
/// The request body is what the client sends to the port and the response body is what
/// comes back, both streamed as they flow: a full-duplex stream, over HTTP/2 (its own
/// per-stream flow control) or HTTP/1.1 (chunked both ways). The answer is 200 once the
/// node has connected to the port; a refusal comes before that, in the envelope, with its
/// status. The stream ends when either side ends: the client finishing its body or going
/// away, or the instance closing the connection or ending. Needs `connect_vm`, or an access
/// token for that instance (see `docs/tunnels.md`).
struct PortForwardRoutes {
    static let path = "/berth/v1/vm/port-forward"

    let client: ControlPlaneClient

    /// An access token's answer.
    struct AccessTokenJSON: Encodable {
        let token: String
        let instance_id: String
        let expires: String
    }

    func register(on router: Router<GatewayContext>) {
        // `{"id": <instance>, "ttl": <seconds, default 600>}`: a token for that instance only.
        router.post("/berth/v1/vm/access-token") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            guard let id = try json.string("id"), !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            let ttl = try json.int("ttl") ?? 600
            guard (60...86_400).contains(ttl) else {
                throw GatewayError(.badRequest, "ttl must be 60 to 86400 seconds")
            }
            let grant: AccessTokenGrant = try await client.rpc(
                RPCCatalog.createAccessToken,
                principal: context.principal,
                body: AccessTokenRequest(instanceID: id, ttlSeconds: ttl)
            )
            let expires = Date(timeIntervalSince1970: Double(grant.expiresMicros) / 1_000_000)
            return AnkaJSON.ok(
                AccessTokenJSON(token: grant.token, instance_id: id, expires: expires.formatted(.iso8601))
            )
        }
        router.post(RouterPath(stringLiteral: Self.path)) { request, context -> Response in
            let query = request.uri.queryParameters
            guard let id = query.get("id"), !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            guard let port = Int(query.get("port") ?? ""), (1...65_535).contains(port) else {
                throw GatewayError(.badRequest, "port must be a TCP port (1-65535)")
            }
            let tunnel = try await client.openTunnel(instanceID: id, port: port, principal: context.principal)
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            headers[.cacheControl] = "no-store"
            let client = self.client
            return Response(
                status: .ok,
                headers: headers,
                body: ResponseBody { writer in
                    await Self.relay(request.body, tunnel: tunnel, to: &writer)
                    await client.forget(tunnel)
                    try? await writer.finish(nil)
                }
            )
        }
    }

    /// Runs the tunnel both ways until either side ends, then closes it.
    static func relay(_ body: RequestBody, tunnel: GatewayTunnel, to writer: inout some ResponseBodyWriter) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await buffer in body { try await tunnel.send(buffer) }
                    tunnel.close(reason: "the client finished")
                } catch {
                    tunnel.close(reason: "the client went away")
                }
            }
            do {
                for await buffer in tunnel.inbound {
                    let bytes = buffer.readableBytes
                    try await writer.write(buffer)
                    tunnel.consumed(bytes)
                }
            } catch {
                tunnel.close(reason: "the client went away")
            }
            // The instance's side ended (or the client's did): stop reading the client.
            tunnel.close(reason: "the instance closed the connection")
            group.cancelAll()
        }
    }
}
