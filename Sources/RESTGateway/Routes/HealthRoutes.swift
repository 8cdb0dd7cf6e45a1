import Hummingbird
import WireProtocol

/// `/livez`, `/readyz` (no authentication) and `/api/v1/status`.
struct HealthRoutes {
    let client: ControlPlaneClient

    func register(on router: Router<GatewayContext>) {
        router.get("/livez") { _, _ in AnkaJSON.ok(message: "alive") }
        router.get("/readyz") { _, _ -> Response in
            guard await client.isConnected else {
                throw GatewayError(.serviceUnavailable, "not connected to the control plane")
            }
            return AnkaJSON.ok(message: "ready")
        }
        router.get("/api/v1/status") { _, context -> Response in
            let status: ControllerStatus = try await client.rpc(
                RPCCatalog.status,
                principal: context.principal,
                body: Empty()
            )
            return AnkaJSON.ok(
                StatusJSON(
                    status: status.status,
                    version: status.version,
                    registry_address: status.registryAddress,
                    registry_status: status.registryStatus,
                    license: "berth"
                )
            )
        }
    }

    struct StatusJSON: Encodable {
        let status: String
        let version: String
        let registry_address: String
        let registry_status: String
        let license: String
    }
}
