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
    /// The versions it holds, as ``versionKey(templateID:tag:)``.
    public var versions: Set<String> = []

    /// How ``versions`` names a template version.
    public static func versionKey(templateID: String, tag: String) -> String { templateID + "\t" + tag }
    /// Ids of the node groups it belongs to.
    public var groups: Set<String>
    /// Anka `capacity_mode: resource`: capacity is vCPUs and RAM, not a VM count.
    public var resourceCapacity: Bool
    /// vCPUs that may be scheduled (the override, else the node's cores).
    public var vcpuCapacity: Int
    /// RAM in MB that may be scheduled (the override, else the node's RAM).
    public var ramCapacityMB: Int
    /// vCPUs and RAM of the VMs that occupy the node now.
    public var usedVCPU: Int
    public var usedRAMMB: Int
    /// Free USB devices per device group name.
    public var usbFree: [String: Int]

    public init(
        id: String,
        name: String = "",
        arch: String = "",
        isActive: Bool = true,
        drainMode: Bool = false,
        maxVMCount: Int = 2,
        running: Int = 0,
        templates: Set<String> = [],
        groups: Set<String> = [],
        resourceCapacity: Bool = false,
        vcpuCapacity: Int = 0,
        ramCapacityMB: Int = 0,
        usedVCPU: Int = 0,
        usedRAMMB: Int = 0,
        usbFree: [String: Int] = [:]
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
        self.resourceCapacity = resourceCapacity
        self.vcpuCapacity = vcpuCapacity
        self.ramCapacityMB = ramCapacityMB
        self.usedVCPU = usedVCPU
        self.usedRAMMB = usedRAMMB
        self.usbFree = usbFree
    }

    var freeSlots: Int { max(0, maxVMCount - running) }

    /// Whether a VM of this size fits now.
    func hasRoom(vcpu: Int, ramMB: Int) -> Bool {
        guard resourceCapacity else { return freeSlots > 0 }
        return usedVCPU + vcpu <= vcpuCapacity && usedRAMMB + ramMB <= ramCapacityMB
    }

    /// Share of capacity still free (0–1), comparable across capacity modes, for preferring
    /// the emptier node.
    var headroom: Double {
        guard resourceCapacity else { return maxVMCount > 0 ? Double(freeSlots) / Double(maxVMCount) : 0 }
        guard vcpuCapacity > 0, ramCapacityMB > 0 else { return 0 }
        return min(
            Double(vcpuCapacity - usedVCPU) / Double(vcpuCapacity),
            Double(ramCapacityMB - usedRAMMB) / Double(ramCapacityMB)
        )
    }

    /// What is in use, for reasons: `1/2 VMs` or `6/8 vCPU, 12288/16384 MB`.
    var usage: String {
        resourceCapacity
            ? "\(usedVCPU)/\(vcpuCapacity) vCPU, \(usedRAMMB)/\(ramCapacityMB) MB" : "\(running)/\(maxVMCount) VMs"
    }

    mutating func occupy(vcpu: Int, ramMB: Int, usbDevice: String = "") {
        if !usbDevice.isEmpty { usbFree[usbDevice, default: 0] -= 1 }
        running += 1
        usedVCPU += vcpu
        usedRAMMB += ramMB
    }
}
