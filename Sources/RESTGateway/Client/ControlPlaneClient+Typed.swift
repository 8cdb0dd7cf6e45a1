import WireProtocol

extension ControlPlaneClient {
    /// Calls `rpc` with its declared request and decodes its declared response, turning a
    /// non-OK status into a ``GatewayError``.
    func rpc<Request, Response>(
        _ rpc: RPC<Request, Response>,
        principal: Principal,
        body: Request,
        extraTime: Duration = .zero
    ) async throws -> Response {
        let body = try await rpcBody(rpc, principal: principal, body: body, extraTime: extraTime)
        do {
            return try Response(bytes: body)
        } catch {
            throw GatewayError.unreadableAnswer
        }
    }

    /// Calls `rpc` with its declared request and returns the OK answer's body undecoded,
    /// for callers that read it in place; a non-OK status becomes a ``GatewayError``.
    func rpcBody<Request, Response>(
        _ rpc: RPC<Request, Response>,
        principal: Principal,
        body: Request,
        extraTime: Duration = .zero
    ) async throws -> [UInt8] {
        let response = try await call(rpc.method, principal: principal, body: body, extraTime: extraTime)
        guard response.status == .ok else { throw GatewayError(response) }
        return response.body
    }

    /// Sends `rpc` with any body and returns the raw answer (any status): for callers that
    /// send a method an older form of its body, or read the status themselves.
    public func call<Request, Response>(
        _ rpc: RPC<Request, Response>,
        principal: Principal,
        body: some WireEncodable,
        extraTime: Duration = .zero
    ) async throws -> RPCResponse {
        try await call(rpc.method, principal: principal, body: body, extraTime: extraTime)
    }
}
