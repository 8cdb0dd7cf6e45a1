/// A list of ids: the body of ``RPCCatalog/startInstances``' answer.
public struct IDList: WireCodable, Equatable {
    public var ids: [String]

    public init(ids: [String]) { self.ids = ids }

    public func encode(to w: inout PayloadWriter) { w.write(1, ids) }

    public init(from r: inout PayloadReader) throws {
        ids = []
        while let tag = try r.next() {
            if tag.number == 1 { ids.append(try r.string(tag)) } else { try r.skip(tag) }
        }
    }
}
