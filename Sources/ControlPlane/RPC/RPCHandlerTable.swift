import WireProtocol

/// The control plane's handlers, one per ``RPC``, each held to its declared types.
///
/// A handler is registered against a descriptor from ``RPCCatalog``: the table decodes
/// the declared request, runs the handler with the authenticated principal, and encodes
/// the declared response. A body that does not decode throws a `WireError`.
struct RPCHandlerTable: Sendable {
    /// A registered handler with its descriptor, ready to run on a request's body bytes.
    struct Entry: Sendable {
        let descriptor: RPCDescriptor
        let run: @Sendable (_ body: [UInt8], _ principal: Principal) async throws -> [UInt8]
    }

    private(set) var entries: [RPCMethod: Entry] = [:]

    /// Registers `handler` for `rpc`. Registering a method twice is a programming error.
    mutating func on<Request, Response>(
        _ rpc: RPC<Request, Response>,
        _ handler: @escaping @Sendable (Request, Principal) async throws -> Response
    ) {
        precondition(entries[rpc.method] == nil, "\(rpc.descriptor.name) is registered twice")
        entries[rpc.method] = Entry(descriptor: rpc.descriptor) { bytes, principal in
            try await handler(Request(bytes: bytes), principal).encodedBytes()
        }
    }

    subscript(method: RPCMethod) -> Entry? { entries[method] }
}
