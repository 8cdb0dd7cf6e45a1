/// One instance as the control plane knows it: everything Anka's `vm` object shows.
///
/// Times are microseconds since the Unix epoch.
public struct InstanceRecord: WireCodable, Equatable {
    public var instanceID: String = ""
    public var state: InstanceState = .scheduling
    public var message: String = ""
    public var templateID: String = ""
    public var templateName: String = ""
    public var tag: String = ""
    public var version: Int = 0
    public var nodeID: String = ""
    public var inflightRequestID: String = ""
    public var tsMicros: Int = 0
    public var createdMicros: Int = 0
    public var progress: Double = 0
    public var groupID: String = ""
    public var name: String = ""
    public var externalID: String = ""
    public var metadataJSON: String = ""
    public var arch: String = ""
    public var vlan: String = ""
    public var priority: Int = 0
    public var vmInfo: VMInfo?
    /// Why a `Scheduling` instance is not placed yet; empty once placed.
    public var waitReason: String = ""
    public var macAddress: String = ""
    public var usbDevice: String = ""
    /// Present once a monitored startup script has run.
    public var scriptResult: ScriptResult?
    /// While set, a terminate is refused.
    public var deleteLock: Bool = false
    public var tags: [String] = []
    /// An ``InstanceStopReason`` raw value; empty while the instance has not left `Started`.
    public var stopReason: String = ""
    /// Who asked (a caller, `node <id>`, `lifetime`).
    public var stoppedBy: String = ""
    public var stoppedAtMicros: Int = 0
    /// A ``RestartPolicy`` raw value; empty for `never` (so records without a policy,
    /// the most, keep their size).
    public var restartPolicy: String = ""
    public var restartCount: Int = 0
    public var maxRestarts: Int = 0
    /// When a pending restart is due; 0 when none is.
    public var restartAtMicros: Int = 0

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instanceID)
        w.write(2, state)
        w.write(3, message)
        w.write(4, templateID)
        w.write(5, templateName)
        w.write(6, tag)
        w.write(7, version)
        w.write(8, nodeID)
        w.write(9, inflightRequestID)
        w.write(10, tsMicros)
        w.write(11, createdMicros)
        w.write(12, progress)
        w.write(13, groupID)
        w.write(14, name)
        w.write(15, externalID)
        w.write(16, metadataJSON)
        w.write(17, arch)
        w.write(18, vlan)
        w.write(19, priority)
        w.write(20, vmInfo)
        w.write(21, waitReason)
        w.write(22, macAddress)
        w.write(23, usbDevice)
        w.write(24, scriptResult)
        w.write(25, deleteLock)
        w.write(26, tags)
        w.write(27, stopReason)
        w.write(28, stoppedBy)
        w.write(29, stoppedAtMicros)
        w.write(30, restartPolicy)
        w.write(31, restartCount)
        w.write(32, maxRestarts)
        w.write(33, restartAtMicros)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: instanceID = try r.string(tag)
            case 2: state = try r.enumeration(tag)
            case 3: message = try r.string(tag)
            case 4: templateID = try r.string(tag)
            case 5: templateName = try r.string(tag)
            case 6: self.tag = try r.string(tag)
            case 7: version = try r.int(tag)
            case 8: nodeID = try r.string(tag)
            case 9: inflightRequestID = try r.string(tag)
            case 10: tsMicros = try r.int(tag)
            case 11: createdMicros = try r.int(tag)
            case 12: progress = try r.double(tag)
            case 13: groupID = try r.string(tag)
            case 14: name = try r.string(tag)
            case 15: externalID = try r.string(tag)
            case 16: metadataJSON = try r.string(tag)
            case 17: arch = try r.string(tag)
            case 18: vlan = try r.string(tag)
            case 19: priority = try r.int(tag)
            case 20: vmInfo = try r.message(tag)
            case 21: waitReason = try r.string(tag)
            case 22: macAddress = try r.string(tag)
            case 23: usbDevice = try r.string(tag)
            case 24: scriptResult = try r.message(tag)
            case 25: deleteLock = try r.bool(tag)
            case 26: tags.append(try r.string(tag))
            case 27: stopReason = try r.string(tag)
            case 28: stoppedBy = try r.string(tag)
            case 29: stoppedAtMicros = try r.int(tag)
            case 30: restartPolicy = try r.string(tag)
            case 31: restartCount = try r.int(tag)
            case 32: maxRestarts = try r.int(tag)
            case 33: restartAtMicros = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
