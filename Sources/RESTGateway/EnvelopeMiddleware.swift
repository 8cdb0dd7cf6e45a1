import Hummingbird
import Logging

/// Turns every error into Anka's FAIL envelope, and checks credentials.
///
/// Unknown routes and framework errors get the envelope too, so clients that decode
/// the body before the status never see a non-JSON answer.
struct EnvelopeMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let authenticator: RootTokenAuthenticator?
    let logger: Logger

    static let unauthenticatedPaths: Set<String> = ["/livez", "/readyz", "/tap/v1/hand", "/tap/v1/shake"]

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        do {
            if let authenticator, !Self.unauthenticatedPaths.contains(request.uri.path) {
                // Root token (Basic) or a TAP session (Bearer, checked by the control plane).
                if let principal = authenticator.authenticate(request.headers) {
                    context.principal = principal
                } else if let header = request.headers[.authorization],
                    let principal = BearerCredential.principal(from: header)
                {
                    context.principal = principal
                } else {
                    throw GatewayError.authenticationRequired
                }
            }
            return try await next(request, context)
        } catch let error as GatewayError {
            return AnkaJSON.fail(error)
        } catch let error as HTTPError {
            let message =
                error.body
                ?? (error.status == .notFound
                    ? "No such endpoint \(request.method) \(request.uri.path)" : "\(error.status.reasonPhrase)")
            return AnkaJSON.fail(GatewayError(error.status, message))
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return AnkaJSON.fail(GatewayError(.internalServerError, "internal error"))
        }
    }
}
