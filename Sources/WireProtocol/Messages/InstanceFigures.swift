/// What a node measured of one running instance, sent with each heartbeat.
public struct InstanceFigures: WireCodable, Equatable {
    public var instanceID: String = ""
    /// CPU used since the previous heartbeat, in percent of one core (200 = two cores busy).
    public var cpuPercent: Double = 0
    /// Resident memory, in bytes.
    public var memoryBytes: Int = 0

    public init(instanceID: String, cpuPercent: Double, memoryBytes: Int) {
        self.instanceID = instanceID
        self.cpuPercent = cpuPercent
        self.memoryBytes = memoryBytes
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instanceID)
        w.write(2, cpuPercent)
        w.write(3, memoryBytes)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: instanceID = try r.string(tag)
            case 2: cpuPercent = try r.double(tag)
            case 3: memoryBytes = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
