import Hummingbird
import NIOCore
import Synchronization

/// Counts and times every request by its route pattern (`/api/v1/vm`, not the query or a
/// path's ids, so the series stay a fixed set), from its head to the last byte of its
/// answer. Outermost of the gateway's middleware, so it sees the status the client gets,
/// the envelope's refusals included.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let metrics: GatewayMetrics

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let clock = ContinuousClock()
        let began = clock.now
        metrics.inFlight.increment(by: 1)
        let method = request.method.rawValue
        do {
            var response = try await next(request, context)
            let status = Int(response.status.code)
            let metrics = self.metrics
            let route = context.endpointPath ?? "unmatched"
            let body = response.body
            // Recorded once the answer is written (or its writing failed), as Hummingbird's
            // own metrics middleware does.
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer {
                    metrics.inFlight.decrement(by: 1)
                    metrics.recordRequest(method: method, route: route, status: status, duration: clock.now - began)
                }
                try await body.write(writer)
            }
            return response
        } catch {
            metrics.inFlight.decrement(by: 1)
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(
                method: method,
                route: context.endpointPath ?? "unmatched",
                status: Int(status),
                duration: clock.now - began
            )
            throw error
        }
    }
}
