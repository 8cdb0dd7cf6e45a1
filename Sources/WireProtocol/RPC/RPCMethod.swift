/// The number of a gateway RPC on the wire.
///
/// The methods themselves, with their types and permissions, are declared in
/// ``RPCCatalog``. New methods get new numbers; a server answers an unknown one with
/// ``RPCStatus/notImplemented``.
public struct RPCMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The method's name from ``RPCCatalog``, or `method(N)` for a number it does not declare.
    public var description: String {
        RPCCatalog.byMethod[self]?.name ?? "method(\(rawValue))"
    }
}
