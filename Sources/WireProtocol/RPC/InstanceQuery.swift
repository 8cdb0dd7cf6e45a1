/// Body of ``RPCCatalog/listInstances``: one instance by id, or a page of all of them.
///
/// Wire-compatible with ``IDQuery``: an older gateway that sends only `id` gets the whole
/// list in one frame, as before paging existed (so it fails past the frame cap).
public struct InstanceQuery: WireCodable, Equatable {
    /// One instance; empty lists them all.
    public var id: String
    /// The cursor from the previous page's ``InstanceList/next``; 0 starts at the oldest.
    public var after: UInt64
    /// At most this many per page; 0 asks for every instance in one answer (the old form).
    /// The control plane also ends a page early when it nears its byte budget.
    public var limit: Int
    /// Only instances carrying every one of these tags; empty for all.
    public var tags: [String]

    public init(id: String = "", after: UInt64 = 0, limit: Int = 0, tags: [String] = []) {
        self.id = id
        self.after = after
        self.limit = limit
        self.tags = tags
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, after)
        w.write(3, limit)
        w.write(4, tags)
    }

    public init(from r: inout PayloadReader) throws {
        id = ""
        after = 0
        limit = 0
        tags = []
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: after = try r.uint64(tag)
            case 3: limit = try r.int(tag)
            case 4: tags.append(try r.string(tag))
            default: try r.skip(tag)
            }
        }
    }
}
