/// The hardware a node offers, reported in its hello.
public struct NodeResources: WireCodable, Equatable {
    public var cpuCount: Int
    public var ramMB: Int
    /// `amd64` or `arm64`.
    public var arch: String
    /// The address clients reach the node's VMs on.
    public var hostIP: String
    /// How many VMs the node runs at once (Anka's default is 2).
    public var maxVMCount: Int
    public var diskSizeBytes: Int
    public var freeDiskBytes: Int
    /// VLAN ids the node can put VMs on.
    public var vlans: [String]
    /// USB devices attached to the node.
    public var usbDevices: [USBDevice]

    public init(
        cpuCount: Int = 0,
        ramMB: Int = 0,
        arch: String = "",
        hostIP: String = "",
        maxVMCount: Int = 0,
        diskSizeBytes: Int = 0,
        freeDiskBytes: Int = 0,
        vlans: [String] = [],
        usbDevices: [USBDevice] = []
    ) {
        self.cpuCount = cpuCount
        self.ramMB = ramMB
        self.arch = arch
        self.hostIP = hostIP
        self.maxVMCount = maxVMCount
        self.diskSizeBytes = diskSizeBytes
        self.freeDiskBytes = freeDiskBytes
        self.vlans = vlans
        self.usbDevices = usbDevices
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, cpuCount)
        w.write(2, ramMB)
        w.write(3, arch)
        w.write(4, hostIP)
        w.write(5, maxVMCount)
        w.write(6, diskSizeBytes)
        w.write(7, freeDiskBytes)
        w.write(8, vlans)
        w.write(9, usbDevices)
    }

    public init(from r: inout PayloadReader) throws {
        self.init()
        while let tag = try r.next() {
            switch tag.number {
            case 1: cpuCount = try r.int(tag)
            case 2: ramMB = try r.int(tag)
            case 3: arch = try r.string(tag)
            case 4: hostIP = try r.string(tag)
            case 5: maxVMCount = try r.int(tag)
            case 6: diskSizeBytes = try r.int(tag)
            case 7: freeDiskBytes = try r.int(tag)
            case 8: vlans.append(try r.string(tag))
            case 9: usbDevices.append(try r.message(tag))
            default: try r.skip(tag)
            }
        }
    }
}
