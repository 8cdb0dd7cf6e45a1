import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WireProtocol

/// `/api/v1/apikey` (UAK management) and the TAP handshake, `/tap/v1/hand` and `/tap/v1/shake`.
struct KeyRoutes {
    let client: ControlPlaneClient

    func register(on router: Router<GatewayContext>) {
        router.post("/api/v1/apikey") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            guard let id = try json.string("id"), !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            guard let ttl = try json.int("ttl") else { throw GatewayError(.badRequest, "ttl is required") }
            var publicKey: [UInt8] = []
            if let text = try json.string("publicKey"), !text.isEmpty {
                guard let der = Data(base64Encoded: Self.stripPEM(text)) else {
                    throw GatewayError(.badRequest, "publicKey must be base64 of a PKIX DER public key")
                }
                publicKey = Array(der)
            }
            let body = APIKeyCreateRequest(
                id: id,
                ttlSeconds: ttl,
                groups: try json.stringArray("groups") ?? [],
                publicKeyDER: publicKey
            )
            let created: APIKeyCreated = try await client.rpc(
                RPCCatalog.createAPIKey,
                principal: context.principal,
                body: body
            )
            return created.privateKeyDER.isEmpty
                ? AnkaJSON.ok() : AnkaJSON.ok(Data(created.privateKeyDER).base64EncodedString())
        }
        router.get("/api/v1/apikey") { request, context -> Response in
            let id = request.uri.queryParameters.get("id") ?? ""
            let list: APIKeyList = try await client.rpc(
                RPCCatalog.listAPIKeys,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            return AnkaJSON.ok(
                list.keys.map {
                    KeyJSON(
                        id: $0.id,
                        groups: $0.groups,
                        expiration: AnkaJSON.timestamp(micros: $0.expiresMicros),
                        created: AnkaJSON.timestamp(micros: $0.createdMicros)
                    )
                }
            )
        }
        router.put("/api/v1/apikey") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try json.string("id") ?? request.uri.queryParameters.get("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            guard let groups = try json.stringArray("groups") else {
                throw GatewayError(.badRequest, "groups is required")
            }
            let body = APIKeyUpdateRequest(id: id, groups: groups, ttlSeconds: try json.int("ttl"))
            let _: Empty = try await client.rpc(RPCCatalog.updateAPIKey, principal: context.principal, body: body)
            return AnkaJSON.ok()
        }
        router.delete("/api/v1/apikey") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try json.string("id") ?? request.uri.queryParameters.get("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            let _: Empty = try await client.rpc(
                RPCCatalog.deleteAPIKey,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            return AnkaJSON.ok()
        }

        // The handshake needs no credentials. hand answers raw base64 text, shake plain JSON.
        router.post("/tap/v1/hand") { request, _ -> Response in
            let json = try await RequestJSON.read(request)
            guard let id = try json.string("id"), !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            let challenge: TAPChallenge = try await client.rpc(
                RPCCatalog.tapHand,
                principal: .anonymous,
                body: IDQuery(id: id)
            )
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(
                status: .ok,
                headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: challenge.encryptedSecretBase64))
            )
        }
        router.post("/tap/v1/shake") { request, _ -> Response in
            let json = try await RequestJSON.read(request)
            guard let id = try json.string("id"), let secret = try json.string("secret") else {
                throw GatewayError(.badRequest, "id and secret are required")
            }
            let session: TAPSession = try await client.rpc(
                RPCCatalog.tapShake,
                principal: .anonymous,
                body: TAPShakeRequest(id: id, secret: secret)
            )
            return AnkaJSON.response(
                .ok,
                ShakeJSON(
                    id: id,
                    data: .init(userName: session.userName, token: session.token, sessionId: session.sessionID)
                )
            )
        }
    }

    /// Accepts the documented bare base64 and, leniently, PEM armour around it.
    static func stripPEM(_ text: String) -> String {
        text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined().trimmingCharacters(in: .whitespaces)
    }

    struct KeyJSON: Encodable {
        let id: String
        let groups: [String]
        let expiration: String
        let created: String
    }

    /// The TAP handshake's answer: not the envelope, as Anka's is not.
    struct ShakeJSON: Encodable {
        struct Session: Encodable {
            let userName: String
            let token: String
            let sessionId: String
        }

        let id: String
        let data: Session
    }
}
