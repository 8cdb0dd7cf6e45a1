/// A node's periodic report, sent every ``Welcome/heartbeatIntervalMillis``.
///
/// The control plane marks a node `Offline` when heartbeats stop for the configured
/// timeout, and answers each with ``HeartbeatAck`` so the node detects a dead server too.
public struct Heartbeat: WireMessage, Equatable {
    public static let messageType = MessageType.heartbeat

    public var sequence: UInt64
    /// CPU and RAM utilisation of the host, 0.0–1.0.
    public var cpuUtil: Double
    public var ramUtil: Double
    public var freeDiskBytes: Int
    public var instances: [InstanceStatus]
    /// The agent is updating itself (Anka node state `Updating`); it takes no new work.
    public var updating: Bool
    /// What the node measured of its running instances (per-instance metrics).
    public var figures: [InstanceFigures] = []

    public init(
        sequence: UInt64,
        cpuUtil: Double = 0,
        ramUtil: Double = 0,
        freeDiskBytes: Int = 0,
        instances: [InstanceStatus] = [],
        updating: Bool = false,
        figures: [InstanceFigures] = []
    ) {
        self.sequence = sequence
        self.cpuUtil = cpuUtil
        self.ramUtil = ramUtil
        self.freeDiskBytes = freeDiskBytes
        self.instances = instances
        self.updating = updating
        self.figures = figures
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, sequence)
        w.write(2, cpuUtil)
        w.write(3, ramUtil)
        w.write(4, freeDiskBytes)
        w.write(5, instances)
        w.write(6, updating)
        w.write(7, figures)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(sequence: 0)
        // Reserved once, from the payload's size (an entry with a UUID id takes at least 40
        // bytes); capped, since a hostile payload costs memory before decoding fails.
        instances.reserveCapacity(min(r.remaining / 40, 256))
        while let tag = try r.next() {
            switch tag.number {
            case 1: sequence = try r.uint64(tag)
            case 2: cpuUtil = try r.double(tag)
            case 3: ramUtil = try r.double(tag)
            case 4: freeDiskBytes = try r.int(tag)
            case 5:
                // Decoded in place in the array (see `InstanceStatus.decodeFields`).
                var entry = try r.nested(tag)
                instances.append(InstanceStatus.placeholder)
                try instances[instances.count - 1].decodeFields(from: &entry)
            case 6: updating = try r.bool(tag)
            case 7:
                guard figures.count < 4096 else { throw WireError(.invalidValue, "too many instance figures") }
                figures.append(try r.message(tag))
            default: try r.skip(tag)
            }
        }
    }
}
