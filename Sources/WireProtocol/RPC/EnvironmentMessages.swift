/// One member of an environment to create: what ``StartInstancesRequest`` says of one VM.
public struct EnvironmentMemberSpec: WireCodable, Equatable {
    /// A template's id or name.
    public var template: String = ""
    public var tag: String = ""
    public var vcpu: Int?
    public var ramMB: Int?
    /// Guest ports reachable through the VM-access tunnel (22 is always included).
    public var ports: [Int] = []
    public var name: String = ""

    public init(template: String = "") { self.template = template }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, template)
        w.write(2, tag)
        w.write(3, vcpu)
        w.write(4, ramMB)
        for port in ports { w.writeExplicit(5, port) }
        w.write(6, name)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: template = try r.string(tag)
            case 2: self.tag = try r.string(tag)
            case 3: vcpu = try r.int(tag)
            case 4: ramMB = try r.int(tag)
            case 5: ports.append(try r.int(tag))
            case 6: name = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Body of ``RPCCatalog/createEnvironment``: `POST /berth/v1/env`.
public struct CreateEnvironmentRequest: WireCodable, Equatable {
    public var id: String = ""
    /// Empty means the caller.
    public var owner: String = ""
    public var sshKeys: [String] = []
    public var members: [EnvironmentMemberSpec] = []
    /// Seconds until it expires; nil means ``defaultLifetime``.
    public var lifetimeSeconds: Int?
    /// Seconds the create waits for every member to start; nil means ``defaultPlacementTimeout``.
    public var placementTimeoutSeconds: Int?

    public static let defaultLifetime = 6 * 3600
    public static let maximumLifetime = 30 * 86_400
    public static let defaultPlacementTimeout = 300
    public static let maximumPlacementTimeout = 600
    public static let maximumMembers = 64

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, owner)
        w.write(3, sshKeys)
        w.write(4, members)
        w.write(5, lifetimeSeconds)
        w.write(6, placementTimeoutSeconds)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: owner = try r.string(tag)
            case 3: sshKeys.append(try r.string(tag))
            case 4:
                guard members.count < Self.maximumMembers else {
                    throw WireError(.invalidValue, "an environment has at most \(Self.maximumMembers) members")
                }
                members.append(try r.message(tag))
            case 5: lifetimeSeconds = try r.int(tag)
            case 6: placementTimeoutSeconds = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// An environment as the control plane holds it, with its members.
public struct EnvironmentRecord: WireCodable, Equatable {
    public var id: String = ""
    public var owner: String = ""
    public var createdBy: String = ""
    /// `creating`, `running`, `stopped`, `failed`, `expired` or `destroyed`.
    public var state: String = ""
    public var message: String = ""
    public var lifetimeSeconds: Int = 0
    public var expiresAtMicros: Int = 0
    public var createdAtMicros: Int = 0
    public var endedAtMicros: Int = 0
    public var sshKeys: [String] = []
    public var members: [InstanceRecord] = []

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, owner)
        w.write(3, createdBy)
        w.write(4, state)
        w.write(5, message)
        w.write(6, lifetimeSeconds)
        w.write(7, expiresAtMicros)
        w.write(8, createdAtMicros)
        w.write(9, endedAtMicros)
        w.write(10, sshKeys)
        w.write(11, members)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: owner = try r.string(tag)
            case 3: createdBy = try r.string(tag)
            case 4: state = try r.string(tag)
            case 5: message = try r.string(tag)
            case 6: lifetimeSeconds = try r.int(tag)
            case 7: expiresAtMicros = try r.int(tag)
            case 8: createdAtMicros = try r.int(tag)
            case 9: endedAtMicros = try r.int(tag)
            case 10: sshKeys.append(try r.string(tag))
            case 11: members.append(try r.message(tag))
            default: try r.skip(tag)
            }
        }
    }
}

/// The answer of ``RPCCatalog/listEnvironments``.
public struct EnvironmentList: WireCodable, Equatable {
    public var items: [EnvironmentRecord] = []

    public init(items: [EnvironmentRecord] = []) { self.items = items }

    public func encode(to w: inout PayloadWriter) { w.write(1, items) }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: items.append(try r.message(tag))
            default: try r.skip(tag)
            }
        }
    }
}

/// Body of ``RPCCatalog/extendEnvironment``: moves the deadline `seconds` later.
public struct ExtendEnvironmentRequest: WireCodable, Equatable {
    public var id: String = ""
    public var seconds: Int = 0

    public init(id: String = "", seconds: Int = 0) {
        self.id = id
        self.seconds = seconds
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, seconds)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: seconds = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
