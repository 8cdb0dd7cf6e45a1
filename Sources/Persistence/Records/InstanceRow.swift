import GRDB

/// A row of `instances`: one VM instance with its full Anka shape.
public struct InstanceRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "instances"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: String
    /// Anka spelling of the state (`Scheduling`, `Started`, ...).
    public var state: String
    public var message: String = ""
    public var templateId: String
    public var templateName: String = ""
    public var tag: String = ""
    public var version: Int = 0
    /// Where the instance runs once placed.
    public var nodeId: String?
    /// The node the request asked for (Anka `node_id` on start); empty for any.
    public var targetNodeId: String = ""
    public var inflightReqid: String = ""
    public var priority: Int = 1000
    public var groupId: String = ""
    /// Permission group named at start (resource management); limits placement.
    public var permissionGroup: String = ""
    /// Encoded `StartOptions`; `nil` when the start said nothing beyond the basics.
    public var startOptions: [UInt8]?
    public var macAddress: String = ""
    /// Encoded `ScriptResult` of a monitored startup script.
    public var scriptResult: [UInt8]?
    /// The USB device claimed at placement.
    public var usbDeviceId: String = ""
    public var name: String = ""
    public var externalId: String = ""
    /// JSON object text.
    public var metadata: String = ""
    public var vcpu: Int = 0
    public var vramMb: Int = 0
    public var arch: String = ""
    public var vlan: String = ""
    public var progress: Double = 0
    /// `vminfo`, wire-encoded by the control plane (opaque here).
    public var vminfo: [UInt8]?
    public var waitReason: String = ""
    public var crTime: Int64
    public var ts: Int64

    public init(id: String, state: String, templateId: String, crTime: Int64) {
        self.id = id
        self.state = state
        self.templateId = templateId
        self.crTime = crTime
        self.ts = crTime
    }
}
