/// A node group as the scheduler needs it: for placement and for reasons.
public struct SchedulerGroup: Sendable, Equatable {
    public var id: String
    public var name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// An instance waiting for a node.
public struct SchedulerRequest: Sendable, Equatable {
    public var instanceID: String
    /// 1–10000, lower first.
    public var priority: Int
    /// Creation time (microseconds); FIFO within a priority.
    public var createdMicros: Int64
    public var templateID: String
    /// The tag asked for; empty for the newest. A node holding exactly this version wins.
    public var tag: String = ""
    /// Required architecture (`amd64`/`arm64`); empty for any.
    public var arch: String
    /// Size of the VM (template size or the start's `vcpu`/`vram`), for resource capacity.
    public var vcpu: Int
    public var ramMB: Int
    /// A USB device group the instance needs one free device of; empty for none.
    public var usbDevice: String
    /// Anka `node_id` targeting; empty for any node.
    public var targetNodeID: String
    /// Anka `group_id` targeting: the group, then its fallbacks in order; empty for any node.
    public var groupChain: [SchedulerGroup]
    /// Resource management: the permission group the start named, and the nodes it may use.
    public var permissionGroup: String
    /// `nil`: any node.
    public var allowedNodes: Set<String>?

    public init(
        instanceID: String,
        priority: Int = 1000,
        createdMicros: Int64,
        templateID: String = "",
        arch: String = "",
        vcpu: Int = 0,
        ramMB: Int = 0,
        usbDevice: String = "",
        targetNodeID: String = "",
        groupChain: [SchedulerGroup] = [],
        permissionGroup: String = "",
        allowedNodes: Set<String>? = nil
    ) {
        self.instanceID = instanceID
        self.priority = priority
        self.createdMicros = createdMicros
        self.templateID = templateID
        self.arch = arch
        self.vcpu = vcpu
        self.ramMB = ramMB
        self.usbDevice = usbDevice
        self.targetNodeID = targetNodeID
        self.groupChain = groupChain
        self.permissionGroup = permissionGroup
        self.allowedNodes = allowedNodes
    }
}
