/// One instance's figures, as ``RPCCatalog/instanceMetrics`` answers them.
public struct InstanceMetrics: WireCodable, Equatable {
    public var instanceID: String = ""
    public var state: InstanceState = .scheduling
    public var nodeID: String = ""
    /// Whether the node has reported figures for it (a running instance on a connected
    /// node); without them `cpuPercent` and `memoryBytes` are 0 and mean nothing.
    public var reported: Bool = false
    public var cpuPercent: Double = 0
    public var memoryBytes: Int = 0
    /// Seconds since the VM last started; 0 unless it is `Started`.
    public var uptimeSeconds: Double = 0
    public var restartCount: Int = 0

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instanceID)
        w.write(2, state)
        w.write(3, nodeID)
        w.write(4, reported)
        w.write(5, cpuPercent)
        w.write(6, memoryBytes)
        w.write(7, uptimeSeconds)
        w.write(8, restartCount)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: instanceID = try r.string(tag)
            case 2: state = try r.enumeration(tag)
            case 3: nodeID = try r.string(tag)
            case 4: reported = try r.bool(tag)
            case 5: cpuPercent = try r.double(tag)
            case 6: memoryBytes = try r.int(tag)
            case 7: uptimeSeconds = try r.double(tag)
            case 8: restartCount = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// The answer of ``RPCCatalog/instanceMetrics``.
public struct InstanceMetricsList: WireCodable, Equatable {
    public var items: [InstanceMetrics] = []

    public init(items: [InstanceMetrics] = []) { self.items = items }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, items)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: items.append(try r.message(tag))
            default: try r.skip(tag)
            }
        }
    }
}
