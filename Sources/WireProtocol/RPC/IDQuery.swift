/// Selects one object by id, or all when `id` is empty.
///
/// Body of ``RPCCatalog/listInstances``, ``RPCCatalog/terminateInstance``,
/// ``RPCCatalog/listNodes`` and ``RPCCatalog/deleteNode``.
public struct IDQuery: WireCodable, Equatable {
    public var id: String

    public init(id: String = "") { self.id = id }

    public func encode(to w: inout PayloadWriter) { w.write(1, id) }

    public init(from r: inout PayloadReader) throws {
        id = ""
        while let tag = try r.next() {
            if tag.number == 1 { id = try r.string(tag) } else { try r.skip(tag) }
        }
    }
}
