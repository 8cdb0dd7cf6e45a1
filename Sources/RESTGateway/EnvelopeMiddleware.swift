import Hummingbird
import Logging
import NIOCore
import WireProtocol

/// Turns every error into Anka's FAIL envelope, and checks credentials.
///
/// Unknown routes and framework errors get the envelope too, so clients that decode
/// the body before the status never see a non-JSON answer. On the Anka surface a request
/// that fails on its merits answers HTTP 200 (``GatewayError/ankaStatus``).
struct EnvelopeMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let authenticator: RootTokenAuthenticator?
    /// Client certificates authenticate callers (the gateway serves HTTPS with a client CA).
    let clientCertificates: Bool
    /// Wrong root tokens per source address; past the limit, 429.
    let guesses: RootTokenGuesses
    /// OIDC bearer tokens (`--oidc-issuer`), when configured.
    let oidc: OIDCVerifier?
    /// The methods each path is routed for: a known path with another method is 405.
    let routeMethods: RouteMethods
    let logger: Logger

    /// Authentication is on with a root token, client certificates or OIDC.
    var authenticationEnabled: Bool { authenticator != nil || clientCertificates || oidc != nil }

    static let unauthenticatedPaths: Set<String> = [
        "/livez", "/readyz", "/tap/v1/hand", "/tap/v1/shake", "/config/v1/auth", "/openapi.json",
    ]

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        do {
            // The dashboard checks its own sessions, and answers in HTML.
            if Portal.owns(request.uri.path) { return try await next(request, context) }
            if authenticationEnabled, !Self.unauthenticatedPaths.contains(request.uri.path) {
                context.principal = try await authenticate(request, channel: context.channel)
            }
            return try await next(request, context)
        } catch let error as GatewayError {
            if error.status == .unauthorized {
                logger.debug("authentication failed", metadata: ["path": "\(request.uri.path)"])
            }
            return AnkaJSON.fail(error, status: Self.status(of: error, path: request.uri.path))
        } catch is NIOTooManyBytesError {
            // The connection guard closes the connection after this answer, so the rest of
            // the body is never read.
            return AnkaJSON.fail(GatewayError(.contentTooLarge, "Request body too large"))
        } catch let error as HTTPError {
            // The router's own 404 and 405 (no such endpoint) are refusals of the request as
            // such; anything a handler threw (a missing query field, say) is on its merits.
            if error.status == .notFound || error.status == .methodNotAllowed {
                let allowed = routeMethods.allowed(for: request.uri.path)
                if !allowed.isEmpty, !allowed.contains(request.method.rawValue) {
                    var response = AnkaJSON.fail(
                        GatewayError(.methodNotAllowed, "\(request.uri.path) takes \(allowed.joined(separator: ", "))")
                    )
                    response.headers[.allow] = allowed.joined(separator: ", ")
                    return response
                }
                let message = error.body ?? "No such endpoint \(request.method) \(request.uri.path)"
                return AnkaJSON.fail(GatewayError(error.status, message))
            }
            let failure = GatewayError(error.status, error.body ?? "\(error.status.reasonPhrase)")
            return AnkaJSON.fail(failure, status: Self.status(of: failure, path: request.uri.path))
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return AnkaJSON.fail(GatewayError(.internalServerError, "internal error"))
        }
    }

    /// The HTTP status `error` answers with on `path`.
    static func status(of error: GatewayError, path: String) -> HTTPResponse.Status {
        GatewayError.isAnkaSurface(path) ? error.ankaStatus : error.status
    }

    /// An `Authorization` header decides when present: root token (Basic) or a TAP session
    /// (Bearer, checked by the control plane). Without one, a verified client certificate does.
    private func authenticate(_ request: Request, channel: any Channel) async throws -> Principal {
        if let header = request.headers[.authorization] {
            if let authenticator, RootTokenAuthenticator.claimsRoot(request.headers) {
                let source = RootTokenGuesses.source(of: channel)
                if let seconds = guesses.lockedFor(source) {
                    throw GatewayError(
                        .tooManyRequests,
                        "Too many wrong root tokens from \(source); try again in \(seconds) s"
                    )
                }
                if let principal = authenticator.authenticate(request.headers) { return principal }
                guesses.recordFailure(source)
                logger.notice("wrong root token", metadata: ["source": "\(source)"])
                throw GatewayError.authenticationRequired
            }
            guard let credentials = BearerCredential.credentials(from: header) else {
                throw GatewayError.authenticationRequired
            }
            // An instance access token (`bat1.…`), checked by the control plane, opens tunnels
            // to its instance; a JWT (three base64url parts) is an OIDC token; a TAP bearer is
            // base64 of JSON.
            if credentials.hasPrefix("bat1.") { return Principal(kind: .accessToken, token: credentials) }
            if OIDCVerifier.looksLikeJWT(credentials) {
                guard let oidc else { throw GatewayError.authenticationRequired }
                return try await oidc.principal(for: credentials)
            }
            if let principal = BearerCredential.principal(fromCredentials: credentials) { return principal }
            throw GatewayError.authenticationRequired
        }
        if clientCertificates, let principal = await GatewayTLS.peerPrincipal(of: channel) { return principal }
        throw GatewayError.authenticationRequired
    }
}
