/// The OpenAPI 3.1 document of the gateway's REST surface, `openapi.json` beside this file,
/// compiled into the binary (SwiftPM's `embedInCode`), so an installed `berth` serves it
/// without resource bundles. `docs/openapi.json` is the same file (a test keeps them equal).
public enum OpenAPIDocument {
    public static var bytes: [UInt8] { PackageResources.openapi_json }
}
