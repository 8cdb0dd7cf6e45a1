/// A node as the scheduler sees it: what it is, and how much room it has left.
public struct SchedulerNode: Sendable, Equatable {
    public var id: String
    public var name: String
    public var arch: String
    /// Connected and healthy (Anka `Active`).
    public var isActive: Bool
    public var drainMode: Bool
    /// Maximum VMs at once (capacity mode `number`).
    public var maxVMCount: Int
    /// VMs that occupy the node now (placed and not ended).
    public var running: Int
    /// Template ids the node holds in its cache.
    public var templates: Set<String>
    /// Ids of the node groups it belongs to.
    public var groups: Set<String>

    public init(
        id: String,
        name: String = "",
        arch: String = "",
        isActive: Bool = true,
        drainMode: Bool = false,
        maxVMCount: Int = 2,
        running: Int = 0,
        templates: Set<String> = [],
        groups: Set<String> = []
    ) {
        self.id = id
        self.name = name
        self.arch = arch
        self.isActive = isActive
        self.drainMode = drainMode
        self.maxVMCount = maxVMCount
        self.running = running
        self.templates = templates
        self.groups = groups
    }

    var freeSlots: Int { max(0, maxVMCount - running) }
}
