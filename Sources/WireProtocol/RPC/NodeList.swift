/// A list of nodes: the answer to ``RPCCatalog/listNodes``.
public struct NodeList: WireCodable, Equatable {
    public var nodes: [NodeRecord]

    public init(nodes: [NodeRecord]) { self.nodes = nodes }

    public func encode(to w: inout PayloadWriter) { w.write(1, nodes) }

    public init(from r: inout PayloadReader) throws {
        nodes = []
        while let tag = try r.next() {
            if tag.number == 1 { nodes.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}
