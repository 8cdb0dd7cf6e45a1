import WireProtocol

extension ControlPlaneClient {
    /// Calls `method` and decodes the answer's body, turning a non-OK status into a ``GatewayError``.
    func rpc<Response: WireDecodable>(
        _ method: RPCMethod,
        principal: Principal,
        body: some WireEncodable,
        as: Response.Type = Response.self,
        extraTime: Duration = .zero
    ) async throws -> Response {
        let response = try await call(method, principal: principal, body: body, extraTime: extraTime)
        guard response.status == .ok else { throw GatewayError(response) }
        do {
            return try Response(bytes: response.body)
        } catch {
            throw GatewayError(.badGateway, "the control plane sent an unreadable answer")
        }
    }
}
