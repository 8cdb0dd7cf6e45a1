import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WireProtocol

/// Berth's own endpoints, under `/berth/v1/` so they can never collide with Anka's
/// `/api/v1/`. Same envelope, same credentials, same permissions.
struct BerthRoutes {
    let client: ControlPlaneClient
    let registryAddress: String

    func register(on router: Router<GatewayContext>) {
        // An instance's log from its node: ?id=&offset=<bytes, negative from the end>&limit=<bytes>.
        // JSON by default; &format=text downloads the bytes as text/plain.
        router.get("/berth/v1/vm/logs") { request, context -> Response in
            let query = request.uri.queryParameters
            guard let id = query.get("id"), !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            guard let offset = Int(query.get("offset") ?? "0") else {
                throw GatewayError(.badRequest, "offset must be a number of bytes")
            }
            guard let limit = Int(query.get("limit") ?? "65536"), limit > 0 else {
                throw GatewayError(.badRequest, "limit must be a positive number of bytes")
            }
            let chunk: LogChunk = try await client.rpc(
                RPCCatalog.instanceLog,
                principal: context.principal,
                body: LogRequest(requestID: 0, instanceID: id, offset: offset, limit: limit)
            )
            if query.get("format") == "text" {
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; charset=utf-8"
                headers[HTTPField.Name("X-Log-Offset")!] = String(chunk.offset)
                headers[HTTPField.Name("X-Log-Size")!] = String(chunk.totalSize)
                headers[.contentDisposition] = "attachment; filename=\"\(id).log\""
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: chunk.data)))
            }
            return AnkaJSON.ok(
                LogChunkJSON(
                    offset: chunk.offset,
                    length: chunk.data.count,
                    size: chunk.totalSize,
                    output: String(decoding: chunk.data, as: UTF8.self)
                )
            )
        }

        // How many instances match: ?tags=a,b&state=&node_id=&group_id= (every state but
        // Terminated unless state names one).
        router.get("/berth/v1/vm/count") { request, context -> Response in
            let query = request.uri.queryParameters
            var search = InstanceSearch(
                state: query.get("state") ?? "",
                nodeID: query.get("node_id") ?? "",
                groupID: query.get("group_id") ?? "",
                limit: 1
            )
            search.tags = InstanceTags.filter(query.get("tags") ?? "")
            let page: SearchPage<InstanceRecord> = try await client.rpc(
                RPCCatalog.searchInstances,
                principal: context.principal,
                body: search
            )
            return AnkaJSON.ok(CountJSON(count: page.matching))
        }

        // The event log: ?kind=<prefix>&subject=&limit=&before=<id> (newest first) or &after=<id> (oldest first).
        router.get("/berth/v1/events") { request, context -> Response in
            let query = request.uri.queryParameters
            func optionalNumber(_ key: String) throws -> Int? {
                guard let text = query.get(key) else { return nil }
                guard let value = Int(text), value >= 0 else {
                    throw GatewayError(.badRequest, "\(key) must be a number")
                }
                return value
            }
            func number(_ key: String) throws -> Int { try optionalNumber(key) ?? 0 }
            let list: EventList = try await client.rpc(
                RPCCatalog.listEvents,
                principal: context.principal,
                body: EventQuery(
                    afterID: try optionalNumber("after"),
                    beforeID: try number("before"),
                    kindPrefix: query.get("kind") ?? "",
                    subject: query.get("subject") ?? "",
                    limit: try number("limit")
                )
            )
            return AnkaJSON.ok(
                list.events.map {
                    EventJSON(
                        id: $0.id,
                        ts: AnkaJSON.timestamp(micros: $0.tsMicros),
                        kind: $0.kind,
                        subject: $0.subject,
                        message: $0.message,
                        actor: $0.actor
                    )
                }
            )
        }

        // Wait for an instance to reach a state: ?id=&state=Started[,Stopped...]&timeout=<seconds>
        router.get("/berth/v1/vm/wait") { request, context -> Response in
            let query = request.uri.queryParameters
            guard let id = query.get("id"), !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            var states: [InstanceState] = []
            for name in (query.get("state") ?? "Started").split(separator: ",") {
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                guard let state = InstanceState(ankaName: trimmed) else {
                    throw GatewayError(.badRequest, "unknown state \(trimmed)")
                }
                states.append(state)
            }
            let timeout = Double(query.get("timeout") ?? "60") ?? -1
            guard timeout >= 0, timeout <= 600 else {
                throw GatewayError(.badRequest, "timeout must be between 0 and 600 seconds")
            }
            let result: WaitInstanceResult = try await client.rpc(
                RPCCatalog.waitInstance,
                principal: context.principal,
                body: WaitInstanceRequest(instanceID: id, states: states, timeoutMillis: Int(timeout * 1000)),
                extraTime: .milliseconds(Int64(timeout * 1000))
            )
            let wanted = states.map(\.description).joined(separator: " or ")
            switch result.outcome {
            case .reached:
                return AnkaJSON.ok(InstanceJSON(result.instance, registry: registryAddress))
            case .timedOut:
                throw GatewayError(
                    .requestTimeout,
                    "timed out after \(query.get("timeout") ?? "60")s waiting for \(wanted); instance is \(result.instance.state)"
                )
            case .ended:
                let detail = result.instance.message.isEmpty ? "" : ": \(result.instance.message)"
                throw GatewayError(
                    .conflict,
                    "instance is \(result.instance.state)\(detail); it will not reach \(wanted)"
                )
            }
        }
    }

    /// A slice of an instance's log.
    struct LogChunkJSON: Encodable {
        let offset: Int
        let length: Int
        let size: Int
        let output: String
    }

    /// `GET /berth/v1/vm/count`'s body.
    struct CountJSON: Encodable {
        let count: Int
    }

    /// One entry of the event log.
    struct EventJSON: Encodable {
        let id: Int
        let ts: String
        let kind: String
        let subject: String
        let message: String
        let actor: String
    }
}
