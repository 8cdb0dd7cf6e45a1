import Hummingbird
import Logging
import Synchronization
import WireProtocol

/// The key that signs the dashboard's cookies: one random secret per deployment, made and
/// stored by the control plane and fetched by every gateway (``RPCCatalog/portalSecret``), so
/// sessions work across gateways and restarts.
///
/// Nothing signed with it can be checked against the root token (the key once was a hash of
/// the token, which let anyone holding a visitor cookie test guesses offline).
final class PortalKeyring: Sendable {
    private let client: ControlPlaneClient
    private let loaded: Mutex<PortalCookieSigner?>

    /// `fixed` (a configured secret) is used as it is; otherwise the control plane's is fetched.
    init(client: ControlPlaneClient, fixed: [UInt8]?) {
        self.client = client
        self.loaded = Mutex(fixed.map(PortalCookieSigner.init(secret:)))
    }

    /// The signer, once ``load()`` has succeeded.
    var current: PortalCookieSigner? { loaded.withLock { $0 } }

    /// Fetches the secret if it is not here yet; throws 503 while the control plane is away.
    func load() async throws {
        if current != nil { return }
        let answer: PortalSecret = try await client.rpc(RPCCatalog.portalSecret, principal: .root, body: Empty())
        guard answer.secret.count >= 32 else {
            throw GatewayError(.serviceUnavailable, "the control plane sent no dashboard secret")
        }
        loaded.withLock { $0 = $0 ?? PortalCookieSigner(secret: answer.secret) }
    }
}

/// Makes sure the dashboard's cookie key is loaded before any dashboard page is served.
struct PortalKeyMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let keyring: PortalKeyring

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if Portal.owns(request.uri.path), !request.uri.path.hasPrefix("/assets/") {
            do {
                try await keyring.load()
            } catch {
                return Portal.htmlResponse(
                    PortalLayout.bare(
                        title: "Berth is unavailable",
                        body: "<p role=\"alert\">The control plane cannot be reached. Try again in a moment.</p>"
                    ),
                    status: .serviceUnavailable
                )
            }
        }
        return try await next(request, context)
    }
}
