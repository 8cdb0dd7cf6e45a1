/// What one permission group may do to one node or template: Anka's resource object.
public struct ResourceGrant: WireCodable, Equatable {
    public var id: String = ""
    /// Anka `id_type`; `id` unless said otherwise.
    public var idType: String = "id"
    /// `node` or `template`.
    public var type: String = ""
    public var permissions: [String] = []

    public init(id: String = "", idType: String = "id", type: String = "", permissions: [String] = []) {
        self.id = id
        self.idType = idType
        self.type = type
        self.permissions = permissions
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, idType)
        w.write(3, type)
        w.write(4, permissions)
    }

    public init(from r: inout PayloadReader) throws {
        idType = ""
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: idType = try r.string(tag)
            case 3: type = try r.string(tag)
            case 4: permissions.append(try r.string(tag))
            default: try r.skip(tag)
            }
        }
        if idType.isEmpty { idType = "id" }
    }
}

/// A permission group: controller permissions and resource grants.
///
/// Also the body of ``RPCCatalog/createPermissionGroup``.
public struct PermissionGroupRecord: WireCodable, Equatable {
    public var name: String = ""
    public var description: String = ""
    /// Controller permission names, e.g. `list_vms`.
    public var permissions: [String] = []
    public var resources: [ResourceGrant] = []

    public init(
        name: String = "",
        description: String = "",
        permissions: [String] = [],
        resources: [ResourceGrant] = []
    ) {
        self.name = name
        self.description = description
        self.permissions = permissions
        self.resources = resources
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, name)
        w.write(2, description)
        w.write(3, permissions)
        w.write(4, resources)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: name = try r.string(tag)
            case 2: description = try r.string(tag)
            case 3: permissions.append(try r.string(tag))
            case 4: resources.append(try r.message(tag))
            default: try r.skip(tag)
            }
        }
    }
}

/// A list of permission groups: the answer to ``RPCCatalog/listPermissionGroups``.
public struct PermissionGroupList: WireCodable, Equatable {
    public var groups: [PermissionGroupRecord]

    public init(groups: [PermissionGroupRecord]) { self.groups = groups }

    public func encode(to w: inout PayloadWriter) { w.write(1, groups) }

    public init(from r: inout PayloadReader) throws {
        groups = []
        while let tag = try r.next() {
            if tag.number == 1 { groups.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}

/// Body of ``RPCCatalog/updatePermissionGroup``: which fields to change.
public struct PermissionGroupUpdate: WireCodable, Equatable {
    public var name: String = ""
    public var description: String?
    /// `nil` keeps the current controller permissions; a list replaces them.
    public var permissions: [String]?
    /// Create the group if it does not exist yet.
    public var createIfMissing: Bool

    public init(name: String, description: String? = nil, permissions: [String]? = nil, createIfMissing: Bool = false) {
        self.name = name
        self.description = description
        self.permissions = permissions
        self.createIfMissing = createIfMissing
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, name)
        w.write(2, description)
        w.write(3, permissions != nil)
        w.write(4, permissions ?? [])
        w.write(5, createIfMissing)
    }

    public init(from r: inout PayloadReader) throws {
        var replace = false
        var names: [String] = []
        createIfMissing = false
        while let tag = try r.next() {
            switch tag.number {
            case 1: name = try r.string(tag)
            case 2: description = try r.string(tag)
            case 3: replace = try r.bool(tag)
            case 4: names.append(try r.string(tag))
            case 5: createIfMissing = try r.bool(tag)
            default: try r.skip(tag)
            }
        }
        permissions = replace ? names : nil
    }
}

/// Body of ``RPCCatalog/setGroupResources`` and answer to ``RPCCatalog/listGroupResources``.
public struct GroupResources: WireCodable, Equatable {
    public var group: String = ""
    public var resources: [ResourceGrant] = []

    public init(group: String, resources: [ResourceGrant] = []) {
        self.group = group
        self.resources = resources
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, group)
        w.write(2, resources)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: group = try r.string(tag)
            case 2: resources.append(try r.message(tag))
            default: try r.skip(tag)
            }
        }
    }
}

/// One entry of the permission catalogue.
public struct PermissionDescription: WireCodable, Equatable {
    /// `controller` for controller permissions; `node` or `template` for resource permissions.
    public var scope: String = ""
    /// For controller permissions, the area it belongs to (e.g. `Instances`).
    public var category: String = ""
    public var name: String = ""
    public var label: String = ""
    public var description: String = ""

    public init(scope: String, category: String = "", name: String, label: String, description: String) {
        self.scope = scope
        self.category = category
        self.name = name
        self.label = label
        self.description = description
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, scope)
        w.write(2, category)
        w.write(3, name)
        w.write(4, label)
        w.write(5, description)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: scope = try r.string(tag)
            case 2: category = try r.string(tag)
            case 3: name = try r.string(tag)
            case 4: label = try r.string(tag)
            case 5: description = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Every permission the control plane knows: the answer to ``RPCCatalog/permissionCatalogue``.
public struct PermissionCatalogue: WireCodable, Equatable {
    public var entries: [PermissionDescription]

    public init(entries: [PermissionDescription]) { self.entries = entries }

    public func encode(to w: inout PayloadWriter) { w.write(1, entries) }

    public init(from r: inout PayloadReader) throws {
        entries = []
        while let tag = try r.next() {
            if tag.number == 1 { entries.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}
