/// One gateway RPC, declared once: its number, its request and response types, the
/// permission a caller needs and whether a success is audited.
///
/// The server registers its handler against the descriptor, so the compiler holds the
/// handler to the declared types; the client's typed call takes the descriptor, so it
/// can send only the declared request and gets back the declared response. Every
/// descriptor lives in ``RPCCatalog``.
public struct RPC<Request: WireCodable, Response: WireCodable>: Sendable {
    public let descriptor: RPCDescriptor

    /// The number on the wire.
    public var method: RPCMethod { descriptor.method }

    init(
        _ number: UInt32,
        _ name: String,
        _ permission: RPCPermission,
        audited: Bool = false,
        _ summary: String = ""
    ) {
        descriptor = RPCDescriptor(
            method: RPCMethod(rawValue: number),
            name: name,
            requestType: String(describing: Request.self),
            responseType: String(describing: Response.self),
            permission: permission,
            audited: audited,
            summary: summary
        )
    }
}

/// An ``RPC`` without its types: what the dispatcher, the permission check, logs and
/// `docs/PROTOCOL.md` need to know of a method.
public struct RPCDescriptor: Hashable, Sendable, CustomStringConvertible {
    public let method: RPCMethod
    /// The method's name in logs, audit events (`api.<name>`) and the protocol document.
    public let name: String
    public let requestType: String
    public let responseType: String
    public let permission: RPCPermission
    /// A success is recorded in the event log as `api.<name>`: calls that change something.
    public let audited: Bool
    /// What the protocol document says of the method beyond its types (may be empty).
    public let summary: String

    public var description: String { name }
}
