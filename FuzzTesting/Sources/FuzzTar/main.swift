import RESTGateway

/// The push route's tar stream parser on arbitrary bytes, fed in pieces whose size the
/// first byte picks (bodies arrive in any split). It must throw or finish, never trap, and
/// every split must give the same outcome.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTar(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let raw = UnsafeRawBufferPointer(start: start, count: count)
    let piece = Int(raw[0]) * 7 + 1
    let bytes = Array(raw[1...])
    let split = try? GatewayFuzzing.parseTar(bytes, piece: piece)
    let whole = try? GatewayFuzzing.parseTar(bytes, piece: bytes.count)
    precondition((split == nil) == (whole == nil), "the tar parser depends on how the bytes arrive")
    return 0
}
