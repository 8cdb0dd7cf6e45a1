/// A node's view of one instance: carried in hello, heartbeats and instance events.
public struct InstanceStatus: WireCodable, Equatable {
    /// The instance, held inline (see ``InstanceID``).
    public var id: InstanceID
    /// The instance id's text (formatted on each read).
    public var instanceID: String {
        get { id.description }
        set { id = InstanceID(newValue) }
    }
    public var state: InstanceState
    /// Pull progress, 0.0–1.0, while `Pulling`.
    public var progress: Double
    /// Error or informational message.
    public var message: String
    /// The VM ended on its own (it exited or crashed; `Stopped` for exit code 0, else
    /// `Error`), not because the control plane asked: what a restart policy acts on.
    public var exited: Bool = false
    /// Present once the VM exists on the node.
    public var vmInfo: VMInfo? {
        get { boxedVMInfo?.value }
        set { boxedVMInfo = newValue.map(Boxed.init) }
    }
    /// The monitored startup script's outcome, once it has run.
    public var scriptResult: ScriptResult? {
        get { boxedScriptResult?.value }
        set { boxedScriptResult = newValue.map(Boxed.init) }
    }
    // Boxed: both are large and absent from most statuses, which are copied into arrays.
    private var boxedVMInfo: Boxed<VMInfo>?
    private var boxedScriptResult: Boxed<ScriptResult>?

    public init(
        instanceID: String,
        state: InstanceState,
        progress: Double = 0,
        message: String = "",
        vmInfo: VMInfo? = nil,
        scriptResult: ScriptResult? = nil
    ) {
        self.init(
            id: InstanceID(instanceID),
            state: state,
            progress: progress,
            message: message,
            vmInfo: vmInfo,
            scriptResult: scriptResult
        )
    }

    /// A status for the instance `id`.
    public init(
        id: InstanceID,
        state: InstanceState,
        progress: Double = 0,
        message: String = "",
        vmInfo: VMInfo? = nil,
        scriptResult: ScriptResult? = nil
    ) {
        self.id = id
        self.state = state
        self.progress = progress
        self.message = message
        self.boxedVMInfo = vmInfo.map(Boxed.init)
        self.boxedScriptResult = scriptResult.map(Boxed.init)
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, state)
        w.write(3, progress)
        w.write(4, message)
        w.write(5, vmInfo)
        w.write(6, scriptResult)
        w.write(7, exited)
    }

    /// A status to decode into (``decodeFields(from:)``); not a valid status itself.
    static let placeholder = InstanceStatus(id: .empty, state: .scheduling)

    public init(from r: inout PayloadReader) throws {
        self.init(id: .empty, state: .scheduling)
        try decodeFields(from: &r)
    }

    /// Reads a status's fields into this value, overwriting it: a heartbeat decodes its
    /// entries this way, in place in its array, where building each one and then moving
    /// it in copied the whole status through its value witness.
    mutating func decodeFields(from r: inout PayloadReader) throws {
        var sawID = false
        var sawState = false
        while let tag = try r.next() {
            switch tag.number {
            case 1:
                id = try r.instanceID(tag)
                sawID = true
            case 2:
                state = try r.enumeration(tag)
                sawState = true
            case 3: progress = try r.double(tag)
            case 4: message = try r.string(tag)
            case 5: boxedVMInfo = Boxed(try r.message(tag))
            case 6: boxedScriptResult = Boxed(try r.message(tag))
            case 7: exited = try r.bool(tag)
            default: try r.skip(tag)
            }
        }
        // The shared checks only on the way to their error: called for every entry, their
        // generic copies of the id cost a tenth of a heartbeat's decode.
        if !sawID || id.isEmpty {
            _ = try PayloadReader.requireNonZero(sawID ? id : nil, "instanceID", in: "InstanceStatus", zero: .empty)
        }
        if !sawState { _ = try PayloadReader.require(InstanceState?.none, "state", in: "InstanceStatus") }
    }
}
