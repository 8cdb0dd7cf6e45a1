/// Body of ``RPCCatalog/searchNodes``: one page of the nodes that match, in an order, for
/// a list a person reads (the dashboard). The control plane filters, sorts and pages.
public struct NodeSearch: WireCodable, Equatable {
    /// The orders an answer can come in; each breaks ties by name, then id.
    public static let sortKeys = ["name", "state", "instances", "cpu", "ram", "created"]
    /// The most nodes one answer holds.
    public static let maximumLimit = 500

    /// A node state (`Active`, `Offline`, …) or `Drain mode`; empty matches every node.
    public var state: String
    /// Only members of this node group; empty for any.
    public var groupID: String
    /// Only nodes whose id, name or address contains this, ignoring case.
    public var text: String
    /// One of ``sortKeys``; empty means `name`.
    public var sort: String
    /// Descending order; by default an answer is ascending (A first).
    public var descending: Bool
    /// How many matching nodes come before this page.
    public var offset: Int
    /// The page's size, 1 … ``maximumLimit``; 0 means 50.
    public var limit: Int

    public init(
        state: String = "",
        groupID: String = "",
        text: String = "",
        sort: String = "",
        descending: Bool = false,
        offset: Int = 0,
        limit: Int = 0
    ) {
        self.state = state
        self.groupID = groupID
        self.text = text
        self.sort = sort
        self.descending = descending
        self.offset = offset
        self.limit = limit
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, state)
        w.write(2, groupID)
        w.write(3, text)
        w.write(4, sort)
        w.write(5, descending)
        w.write(6, offset)
        w.write(7, limit)
    }

    public init(from r: inout PayloadReader) throws {
        self.init()
        while let tag = try r.next() {
            switch tag.number {
            case 1: state = try r.string(tag)
            case 2: groupID = try r.string(tag)
            case 3: text = try r.string(tag)
            case 4: sort = try r.string(tag)
            case 5: descending = try r.bool(tag)
            case 6: offset = try r.int(tag)
            case 7: limit = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
