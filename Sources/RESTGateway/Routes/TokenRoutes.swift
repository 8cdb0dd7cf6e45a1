import Foundation
import Hummingbird
import WireProtocol

/// `/berth/v1/tokens`: node join tokens over the API (create, list, revoke), so that
/// enrolling a host needs no shell on the control plane's host.
struct TokenRoutes {
    static let path = "/berth/v1/tokens"

    let client: ControlPlaneClient

    /// One minted token: the whole `<id>.<secret>`, shown in this answer only.
    struct MintedJSON: Encodable {
        let id: String
        let token: String
    }

    /// The answer to a create.
    struct CreatedJSON: Encodable {
        let tokens: [MintedJSON]
        let expires: String
        let ca_hash: String
    }

    /// A listed token: its history, never its secret.
    struct TokenJSON: Encodable {
        let id: String
        let description: String
        let state: String
        let created_by: String
        let created: String
        let expires: String
        let used_at: String?
        let used_by: String?
        let revoked_at: String?

        init(_ record: JoinTokenRecord) {
            id = record.id
            description = record.description
            state = record.state
            created_by = record.createdBy
            created = AnkaJSON.timestamp(micros: record.createdMicros)
            expires = AnkaJSON.timestamp(micros: record.expiresMicros)
            used_at = record.usedMicros == 0 ? nil : AnkaJSON.timestamp(micros: record.usedMicros)
            used_by = record.usedBy.isEmpty ? nil : record.usedBy
            revoked_at = record.revokedMicros == 0 ? nil : AnkaJSON.timestamp(micros: record.revokedMicros)
        }
    }

    func register(on router: Router<GatewayContext>) {
        // `{"ttl": seconds (default 3600), "count": n (default 1), "description": "…"}`.
        router.post(RouterPath(stringLiteral: Self.path)) { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let body = JoinTokenCreateRequest(
                count: try json.int("count") ?? 1,
                ttlSeconds: try json.int("ttl") ?? 3600,
                description: try json.string("description") ?? ""
            )
            let created: JoinTokensCreated = try await client.rpc(
                RPCCatalog.createJoinTokens,
                principal: context.principal,
                body: body
            )
            return AnkaJSON.ok(
                CreatedJSON(
                    tokens: created.tokens.map { MintedJSON(id: String($0.prefix { $0 != "." }), token: $0) },
                    expires: AnkaJSON.timestamp(micros: created.expiresMicros),
                    ca_hash: created.caPin
                )
            )
        }
        router.get(RouterPath(stringLiteral: Self.path)) { request, context -> Response in
            let list: JoinTokenList = try await client.rpc(
                RPCCatalog.listJoinTokens,
                principal: context.principal,
                body: Empty()
            )
            var tokens = list.tokens
            if let state = request.uri.queryParameters.get("state"), !state.isEmpty {
                guard Self.states.contains(state) else {
                    throw GatewayError(.badRequest, "state must be one of \(Self.states.joined(separator: ", "))")
                }
                tokens = tokens.filter { $0.state == state }
            }
            return AnkaJSON.ok(tokens.map(TokenJSON.init))
        }
        // The id (or the whole token) as `?id=` or in a JSON body, as the Anka surface's
        // deletes take it.
        router.delete(RouterPath(stringLiteral: Self.path)) { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try json.string("id") ?? request.uri.queryParameters.get("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            let revoked: JoinTokenRecord = try await client.rpc(
                RPCCatalog.revokeJoinToken,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            return AnkaJSON.ok(TokenJSON(revoked))
        }
    }

    /// The states a list can be filtered by.
    static let states = ["usable", "used", "expired", "revoked"]
}
