import Hummingbird

/// `GET /openapi.json`: the OpenAPI 3.1 description of the REST surface (no authentication,
/// as `/livez`: it describes the API, it reveals nothing of the fleet).
struct OpenAPIRoutes {
    func register(on router: Router<GatewayContext>) {
        router.get("/openapi.json") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes))
            )
        }
    }
}
