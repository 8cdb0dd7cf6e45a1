/// A node group: Anka's group object. Also the body of create and update calls.
public struct GroupRecord: WireCodable, Equatable {
    public var id: String = ""
    public var name: String = ""
    public var description: String = ""
    /// `nil`: none. In an update, `nil` keeps the current value and `""` clears it.
    public var fallbackGroupID: String?

    public init(id: String = "", name: String = "", description: String = "", fallbackGroupID: String? = nil) {
        self.id = id
        self.name = name
        self.description = description
        self.fallbackGroupID = fallbackGroupID
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, name)
        w.write(3, description)
        w.write(4, fallbackGroupID)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: name = try r.string(tag)
            case 3: description = try r.string(tag)
            case 4: fallbackGroupID = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// A list of groups: the answer to ``RPCCatalog/listGroups``.
public struct GroupList: WireCodable, Equatable {
    public var groups: [GroupRecord]

    public init(groups: [GroupRecord]) { self.groups = groups }

    public func encode(to w: inout PayloadWriter) { w.write(1, groups) }

    public init(from r: inout PayloadReader) throws {
        groups = []
        while let tag = try r.next() {
            if tag.number == 1 { groups.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}

/// Body of a group update: which fields to change.
public struct GroupUpdateRequest: WireCodable, Equatable {
    public var id: String = ""
    public var name: String?
    public var description: String?
    /// `""` clears the fallback.
    public var fallbackGroupID: String?

    public init(id: String) { self.id = id }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, name)
        w.write(3, description)
        w.write(4, fallbackGroupID)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: name = try r.string(tag)
            case 3: description = try r.string(tag)
            case 4: fallbackGroupID = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Body of adding nodes to, or removing them from, groups.
public struct NodeGroupsRequest: WireCodable, Equatable {
    public var nodeIDs: [String]
    public var groupIDs: [String]

    public init(nodeIDs: [String], groupIDs: [String]) {
        self.nodeIDs = nodeIDs
        self.groupIDs = groupIDs
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, nodeIDs)
        w.write(2, groupIDs)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(nodeIDs: [], groupIDs: [])
        while let tag = try r.next() {
            switch tag.number {
            case 1: nodeIDs.append(try r.string(tag))
            case 2: groupIDs.append(try r.string(tag))
            default: try r.skip(tag)
            }
        }
    }
}
