/// What a node needs to start one instance.
public struct StartSpec: WireCodable, Equatable {
    public var templateID: String = ""
    public var templateName: String = ""
    public var tag: String = ""
    public var versionNumber: Int = 0
    public var cpuCores: Int = 0
    public var ramMB: Int = 0
    /// VM name the node should use (Anka: `mgmtManaged-...`).
    public var vmName: String = ""
    public var arch: String = ""
    public var options = StartOptions()

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, templateID)
        w.write(2, templateName)
        w.write(3, tag)
        w.write(4, versionNumber)
        w.write(5, cpuCores)
        w.write(6, ramMB)
        w.write(7, vmName)
        w.write(8, arch)
        if !options.isEmpty { w.write(9, options) }
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: templateID = try r.string(tag)
            case 2: templateName = try r.string(tag)
            case 3: self.tag = try r.string(tag)
            case 4: versionNumber = try r.int(tag)
            case 5: cpuCores = try r.int(tag)
            case 6: ramMB = try r.int(tag)
            case 7: vmName = try r.string(tag)
            case 8: arch = try r.string(tag)
            case 9: options = try r.message(tag)
            default: try r.skip(tag)
            }
        }
    }
}
