/// A node's view of one instance: carried in hello, heartbeats and instance events.
public struct InstanceStatus: WireCodable, Equatable {
    public var instanceID: String
    public var state: InstanceState
    /// Pull progress, 0.0–1.0, while `Pulling`.
    public var progress: Double
    /// Error or informational message.
    public var message: String
    /// Present once the VM exists on the node.
    public var vmInfo: VMInfo?
    /// The monitored startup script's outcome, once it has run.
    public var scriptResult: ScriptResult?

    public init(
        instanceID: String,
        state: InstanceState,
        progress: Double = 0,
        message: String = "",
        vmInfo: VMInfo? = nil,
        scriptResult: ScriptResult? = nil
    ) {
        self.instanceID = instanceID
        self.state = state
        self.progress = progress
        self.message = message
        self.vmInfo = vmInfo
        self.scriptResult = scriptResult
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instanceID)
        w.write(2, state)
        w.write(3, progress)
        w.write(4, message)
        w.write(5, vmInfo)
        w.write(6, scriptResult)
    }

    public init(from r: inout PayloadReader) throws {
        var id: String?
        var state: InstanceState?
        self.init(instanceID: "", state: .scheduling)
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: state = try r.enumeration(tag)
            case 3: progress = try r.double(tag)
            case 4: message = try r.string(tag)
            case 5: vmInfo = try r.message(tag)
            case 6: scriptResult = try r.message(tag)
            default: try r.skip(tag)
            }
        }
        self.instanceID = try PayloadReader.requireNonZero(id, "instanceID", in: "InstanceStatus", zero: "")
        self.state = try PayloadReader.require(state, "state", in: "InstanceStatus")
    }
}
