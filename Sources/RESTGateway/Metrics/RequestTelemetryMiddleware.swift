import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Telemetry

/// What the gateway learns from each request: its request id, its series, its log line.
///
/// Outermost of the gateway's middleware, so it sees the status the client gets, the
/// envelope's refusals included.
/// - **Request id** (``RequestID``): set for the handler and for the writing of the body
///   (a streamed listing makes RPCs while it writes), and sent back in `X-Request-ID`.
/// - **Series**: counted and timed by route pattern (`/api/v1/vm`, not the query or a path's
///   ids, so the series stay a fixed set), from the head to the last byte of the answer.
/// - **Log**: one line per request once answered, at `info` for changes (POST, PUT, DELETE,
///   PATCH) and `debug` for reads, which CI plugins poll every few seconds per job.
struct RequestTelemetryMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let metrics: GatewayMetrics
    let logger: Logger

    static let requestIDField = HTTPField.Name(RequestID.headerName)!

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let clock = ContinuousClock()
        let began = clock.now
        let requestID = RequestID.accept(request.headers[Self.requestIDField])
        metrics.inFlight.increment(by: 1)
        let method = request.method
        let path = request.uri.path
        let finished: @Sendable (Int, String) -> Void = { [metrics, logger] status, route in
            let duration = clock.now - began
            metrics.inFlight.decrement(by: 1)
            metrics.recordRequest(method: method.rawValue, route: route, status: status, duration: duration)
            let changes = method == .post || method == .put || method == .delete || method == .patch
            logger.log(
                level: changes ? .info : .debug,
                "request",
                metadata: [
                    "request_id": "\(requestID)", "method": "\(method)", "path": "\(path)", "status": "\(status)",
                    "duration_ms": "\(duration.milliseconds)",
                ]
            )
        }
        do {
            var response = try await RequestID.$current.withValue(requestID) { try await next(request, context) }
            response.headers[Self.requestIDField] = requestID
            let status = Int(response.status.code)
            let route = context.endpointPath ?? "unmatched"
            let body = response.body
            // Recorded once the answer is written (or its writing failed), as Hummingbird's
            // own metrics middleware does.
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { finished(status, route) }
                try await RequestID.$current.withValue(requestID) { try await body.write(writer) }
            }
            return response
        } catch {
            finished(Int((error as? any HTTPResponseError)?.status.code ?? 500), context.endpointPath ?? "unmatched")
            throw error
        }
    }
}
