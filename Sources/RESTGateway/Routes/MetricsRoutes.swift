import Hummingbird
import NIOCore
import Telemetry
import WireProtocol

/// `GET /metrics`: the gateway's Prometheus series.
///
/// With authentication on, it takes the same credentials as the API (Prometheus sends a
/// bearer token with `authorization.credentials_file`, or a client certificate): a fleet's
/// shape is not for anyone on the network. A root token, OIDC token or certificate is
/// checked here, so the series stay readable while the control plane is away; an API key
/// is checked by the control plane. An access token opens tunnels only.
struct MetricsRoutes {
    let client: ControlPlaneClient
    let metrics: GatewayMetrics

    func register(on router: Router<GatewayContext>) {
        router.get("/metrics") { _, context -> Response in
            switch context.principal.kind {
            case .accessToken:
                throw GatewayError(.forbidden, "Permission denied: an access token only opens tunnels to its instance")
            case .apiKey:
                _ = try await client.rpc(RPCCatalog.status, principal: context.principal, body: Empty())
            default:
                break
            }
            metrics.connected.record(await client.isConnected ? 1 : 0)
            metrics.tunnelsOpen.record(await client.openTunnels)
            return Response(
                status: .ok,
                headers: [.contentType: MetricsRegistry.contentType],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.exposition()))
            )
        }
    }
}
