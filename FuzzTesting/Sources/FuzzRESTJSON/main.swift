import RESTGateway

/// A REST request body on arbitrary bytes, read as the JSON routes read it (a start request
/// with every option, and every typed field accessor). It must answer or throw, never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESTJSON(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    GatewayFuzzing.parseRequestBody(Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
