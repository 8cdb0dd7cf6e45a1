/// Body of ``RPCCatalog/searchInstances``: one page of the instances that match, in an
/// order, for a list a person reads (the dashboard). The control plane filters, sorts and
/// pages, so an answer holds at most ``maximumLimit`` instances however large the fleet.
public struct InstanceSearch: WireCodable, Equatable {
    /// The orders an answer can come in; each breaks ties by creation, newest first.
    public static let sortKeys = ["created", "state", "template", "node", "name", "external_id"]
    /// The most instances one answer holds.
    public static let maximumLimit = 500

    /// A state's name (`Started`, `Terminated`, …); empty matches every state but `Terminated`.
    public var state: String
    /// Only instances placed on this node; empty for any.
    public var nodeID: String
    /// Only instances asked for this node group; empty for any.
    public var groupID: String
    /// Only instances whose external id contains this; empty for any.
    public var externalID: String
    /// Only instances whose id, name, external id or template name contains this, ignoring case.
    public var text: String
    /// Only instances carrying every one of these tags; empty for any.
    public var tags: [String] = []
    /// One of ``sortKeys``; empty means `created`.
    public var sort: String
    /// Ascending order; by default an answer is descending (newest, or Z, first).
    public var ascending: Bool
    /// How many matching instances come before this page.
    public var offset: Int
    /// The page's size, 1 … ``maximumLimit``; 0 means 50.
    public var limit: Int

    public init(
        state: String = "",
        nodeID: String = "",
        groupID: String = "",
        externalID: String = "",
        text: String = "",
        sort: String = "",
        ascending: Bool = false,
        offset: Int = 0,
        limit: Int = 0
    ) {
        self.state = state
        self.nodeID = nodeID
        self.groupID = groupID
        self.externalID = externalID
        self.text = text
        self.sort = sort
        self.ascending = ascending
        self.offset = offset
        self.limit = limit
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, state)
        w.write(2, nodeID)
        w.write(3, groupID)
        w.write(4, externalID)
        w.write(5, text)
        w.write(6, sort)
        w.write(7, ascending)
        w.write(8, offset)
        w.write(9, limit)
        w.write(10, tags)
    }

    public init(from r: inout PayloadReader) throws {
        self.init()
        while let tag = try r.next() {
            switch tag.number {
            case 1: state = try r.string(tag)
            case 2: nodeID = try r.string(tag)
            case 3: groupID = try r.string(tag)
            case 4: externalID = try r.string(tag)
            case 5: text = try r.string(tag)
            case 6: sort = try r.string(tag)
            case 7: ascending = try r.bool(tag)
            case 8: offset = try r.int(tag)
            case 9: limit = try r.int(tag)
            case 10: tags.append(try r.string(tag))
            default: try r.skip(tag)
            }
        }
    }
}
