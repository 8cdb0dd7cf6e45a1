import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WireProtocol

/// `GET /live?view=<name>&...`: server-sent events with fresh page fragments.
///
/// It long-polls the control plane's change counter (``RPCCatalog/watchFleet``), so an
/// instance reaching `Started` reaches the page within a moment, and re-renders at least
/// every few seconds for figures that change without an event (CPU, RAM). Only fragments
/// whose HTML changed are sent. A stream ends after ``lifetime`` and the browser's
/// EventSource reconnects, so no connection outlives a gateway's shutdown for long.
struct LiveFeed: Sendable {
    /// Renders a view's fragments; the view's parameters are in the feed's query.
    typealias Source = @Sendable (PortalRequest) async throws -> [LiveFragment]

    let portal: Portal
    let sources: [String: Source]
    var idleRefresh: Duration = .seconds(5)
    var lifetime: Duration = .seconds(300)

    func register(on router: Router<GatewayContext>) {
        router.get("/live") { request, context -> Response in
            let existing = portal.session(of: request)
            let principal = await portal.principal(for: request, session: existing, channel: context.channel)
            let query = FormData(encoded: request.uri.query ?? "")
            guard let source = query["view"].flatMap({ sources[$0] }) else {
                throw GatewayError(.notFound, "no such live view")
            }
            var headers = Portal.securityHeaders
            headers[.contentType] = "text/event-stream; charset=utf-8"
            guard let principal else {
                return Response(
                    status: .ok,
                    headers: headers,
                    body: .init(byteBuffer: ByteBuffer(string: "event: expired\ndata: /login\n\n"))
                )
            }
            let portalRequest = PortalRequest(
                request: request,
                context: context,
                session: existing ?? .visitor(),
                principal: principal,
                flash: nil
            )
            let feed = self
            return Response(
                status: .ok,
                headers: headers,
                body: ResponseBody { writer in
                    try await feed.stream(portalRequest, source: source, writer: &writer)
                    try await writer.finish(nil)
                }
            )
        }
    }

    private func stream(
        _ request: PortalRequest,
        source: Source,
        writer: inout any ResponseBodyWriter
    ) async throws {
        let end = ContinuousClock.now + lifetime
        var sent: [String: HTML] = [:]
        try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
        var sequence = (try? await watch(after: -1, principal: request.principal, timeout: .zero)) ?? 0
        while !Task.isCancelled, ContinuousClock.now < end {
            var payload = ""
            do {
                for fragment in try await source(request) where sent[fragment.id] != fragment.html {
                    sent[fragment.id] = fragment.html
                    payload += Self.event("fragment", ["id": "live-\(fragment.id)", "html": fragment.html.description])
                }
            } catch let error as GatewayError where error.status == .unauthorized {
                try await writer.write(ByteBuffer(string: "event: expired\ndata: /login\n\n"))
                return
            } catch {
                payload += Self.event("problem", ["message": "\(error)"])
            }
            // A comment line when nothing changed: it finds a closed browser.
            try await writer.write(ByteBuffer(string: payload.isEmpty ? ": idle\n\n" : payload))
            do {
                sequence = try await watch(after: sequence, principal: request.principal, timeout: idleRefresh)
                // Let a burst of changes (a start of 20 instances) land before rendering.
                try await Task.sleep(for: .milliseconds(150))
            } catch let error as GatewayError where error.status == .unauthorized {
                try await writer.write(ByteBuffer(string: "event: expired\ndata: /login\n\n"))
                return
            } catch is CancellationError {
                return
            } catch {
                try await Task.sleep(for: .seconds(2))
            }
        }
    }

    private func watch(after sequence: Int, principal: Principal, timeout: Duration) async throws -> Int {
        let millis = Int(timeout.components.seconds * 1000)
        let answer: FleetWatch = try await portal.client.rpc(
            RPCCatalog.watchFleet,
            principal: principal,
            body: FleetWatch(sequence: sequence, timeoutMillis: millis),
            extraTime: timeout
        )
        return answer.sequence
    }

    static func event(_ name: String, _ body: [String: String]) -> String {
        let json = (try? JSONBytesEncoder.encode(SortedFields(fields: body))) ?? ByteBuffer(string: "{}")
        return "event: \(name)\ndata: \(String(buffer: json))\n\n"
    }

    /// A string map written with its keys sorted, so each event reads the same way.
    struct SortedFields: Encodable {
        let fields: [String: String]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: JSONKey.self)
            for key in fields.keys.sorted() { try container.encode(fields[key] ?? "", forKey: JSONKey(key)) }
        }
    }
}
