/// One node as the control plane knows it: what Anka's node object shows.
public struct NodeRecord: WireCodable, Equatable {
    public var nodeID: String = ""
    public var name: String = ""
    /// Anka spelling: `Active`, `Offline`, `Updating`, `Unhealthy`.
    public var state: String = ""
    public var ipAddress: String = ""
    public var cpuCount: Int = 0
    public var ramMB: Int = 0
    public var arch: String = ""
    public var capacity: Int = 0
    public var vmCount: Int = 0
    public var vcpuCount: Int = 0
    public var vramMB: Int = 0
    public var cpuUtil: Double = 0
    public var ramUtil: Double = 0
    public var drainMode: Bool = false
    public var capacityMode: String = ""
    public var templates: [TemplateRef] = []
    /// Bytes of the node's template cache (Anka `anka_disk_usage`).
    public var cacheBytes: Int = 0
    public var agentVersion: String = ""
    public var lastSeenMicros: Int = 0
    public var diskSizeBytes: Int = 0
    public var freeDiskBytes: Int = 0
    public var vcpuOverride: Int = 0
    public var ramOverride: Int = 0
    public var host: String = ""
    public var groups: [GroupRecord] = []
    public var vlans: [String] = []
    /// With `busy` set for devices claimed by live instances.
    public var usbDevices: [USBDevice] = []

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, nodeID)
        w.write(2, name)
        w.write(3, state)
        w.write(4, ipAddress)
        w.write(5, cpuCount)
        w.write(6, ramMB)
        w.write(7, arch)
        w.write(8, capacity)
        w.write(9, vmCount)
        w.write(10, vcpuCount)
        w.write(11, vramMB)
        w.write(12, cpuUtil)
        w.write(13, ramUtil)
        w.write(14, drainMode)
        w.write(15, capacityMode)
        w.write(16, templates)
        w.write(17, agentVersion)
        w.write(18, lastSeenMicros)
        w.write(19, diskSizeBytes)
        w.write(20, freeDiskBytes)
        w.write(21, vcpuOverride)
        w.write(22, ramOverride)
        w.write(23, host)
        w.write(24, groups)
        w.write(25, vlans)
        w.write(26, usbDevices)
        w.write(27, cacheBytes)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: nodeID = try r.string(tag)
            case 2: name = try r.string(tag)
            case 3: state = try r.string(tag)
            case 4: ipAddress = try r.string(tag)
            case 5: cpuCount = try r.int(tag)
            case 6: ramMB = try r.int(tag)
            case 7: arch = try r.string(tag)
            case 8: capacity = try r.int(tag)
            case 9: vmCount = try r.int(tag)
            case 10: vcpuCount = try r.int(tag)
            case 11: vramMB = try r.int(tag)
            case 12: cpuUtil = try r.double(tag)
            case 13: ramUtil = try r.double(tag)
            case 14: drainMode = try r.bool(tag)
            case 15: capacityMode = try r.string(tag)
            case 16: templates.append(try r.message(tag))
            case 17: agentVersion = try r.string(tag)
            case 18: lastSeenMicros = try r.int(tag)
            case 19: diskSizeBytes = try r.int(tag)
            case 20: freeDiskBytes = try r.int(tag)
            case 21: vcpuOverride = try r.int(tag)
            case 22: ramOverride = try r.int(tag)
            case 23: host = try r.string(tag)
            case 24: groups.append(try r.message(tag))
            case 25: vlans.append(try r.string(tag))
            case 26: usbDevices.append(try r.message(tag))
            case 27: cacheBytes = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
