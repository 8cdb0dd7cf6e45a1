/// One page of a search (``RPCCatalog/searchInstances``, ``RPCCatalog/searchNodes``), and
/// the counts a pager needs.
public struct SearchPage<Item: WireCodable & Equatable>: WireCodable, Equatable {
    public var items: [Item]
    /// How many match, over every page.
    public var matching: Int
    /// How many there are, matching or not (of nodes: those the caller may list).
    public var total: Int

    public init(items: [Item] = [], matching: Int = 0, total: Int = 0) {
        self.items = items
        self.matching = matching
        self.total = total
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, items)
        w.write(2, matching)
        w.write(3, total)
    }

    public init(from r: inout PayloadReader) throws {
        self.init()
        while let tag = try r.next() {
            switch tag.number {
            case 1: items.append(try r.message(tag))
            case 2: matching = try r.int(tag)
            case 3: total = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
