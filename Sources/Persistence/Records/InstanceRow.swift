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
    /// While set, a terminate is refused (Berth's extension).
    public var deleteLock: Bool = false
    /// The instance's tags (Berth's extension), stored one per line: a tag holds no
    /// control characters.
    public var tags: [String] = []
    /// Why the instance left `Started` (``InstanceStopReason``'s raw values); empty while
    /// it has not.
    public var stopReason: String = ""
    /// Who or what asked: a caller as the event log names it, `node <id>`, `lifetime`.
    public var stoppedBy: String = ""
    /// When, in microseconds since the Unix epoch; 0 while it has not.
    public var stoppedAt: Int64 = 0
    /// `never`, `always` or `on_failure` (``RestartPolicy``'s raw values).
    public var restartPolicy: String = "never"
    /// The most restarts the policy makes; the next failure ends the instance.
    public var maxRestarts: Int = 0
    /// Restarts made so far.
    public var restartCount: Int = 0
    /// When the next restart is due, in microseconds since the Unix epoch; 0 when none is.
    /// Stored, so a restart pending across a control-plane restart still happens.
    public var restartAt: Int64 = 0
    /// The environment it belongs to; empty for none.
    public var envId: String = ""
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

/// Written and read column by column, not through `Codable`.
///
/// Every placement, event and state change journals a whole row, so this is on the
/// scheduler's hot path: GRDB's `Encodable` route (a keyed encoder, a snake-case conversion
/// of every key, an existential per value) took about a fifth of the control plane's CPU
/// when placing 10,000 instances. `StorageFormatTests.anInstanceRowRoundTripsEveryColumn`
/// checks that every property has its column and every column is written.
extension InstanceRow {
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["state"] = state
        container["message"] = message
        container["template_id"] = templateId
        container["template_name"] = templateName
        container["tag"] = tag
        container["version"] = version
        container["node_id"] = nodeId
        container["target_node_id"] = targetNodeId
        container["inflight_reqid"] = inflightReqid
        container["priority"] = priority
        container["group_id"] = groupId
        container["permission_group"] = permissionGroup
        container["start_options"] = startOptions
        container["mac_address"] = macAddress
        container["script_result"] = scriptResult
        container["usb_device_id"] = usbDeviceId
        container["name"] = name
        container["external_id"] = externalId
        container["metadata"] = metadata
        container["vcpu"] = vcpu
        container["vram_mb"] = vramMb
        container["arch"] = arch
        container["vlan"] = vlan
        container["progress"] = progress
        container["vminfo"] = vminfo
        container["wait_reason"] = waitReason
        container["delete_lock"] = deleteLock
        container["tags"] = Self.tagsText(tags)
        container["stop_reason"] = stopReason
        container["stopped_by"] = stoppedBy
        container["stopped_at"] = stoppedAt
        container["restart_policy"] = restartPolicy
        container["max_restarts"] = maxRestarts
        container["restart_count"] = restartCount
        container["restart_at"] = restartAt
        container["env_id"] = envId
        container["cr_time"] = crTime
        container["ts"] = ts
    }

    public init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        state = try row.decode(forColumn: "state")
        message = try row.decode(forColumn: "message")
        templateId = try row.decode(forColumn: "template_id")
        templateName = try row.decode(forColumn: "template_name")
        tag = try row.decode(forColumn: "tag")
        version = try row.decode(forColumn: "version")
        nodeId = try row.decode(forColumn: "node_id")
        targetNodeId = try row.decode(forColumn: "target_node_id")
        inflightReqid = try row.decode(forColumn: "inflight_reqid")
        priority = try row.decode(forColumn: "priority")
        groupId = try row.decode(forColumn: "group_id")
        permissionGroup = try row.decode(forColumn: "permission_group")
        startOptions = try row.decode(forColumn: "start_options")
        macAddress = try row.decode(forColumn: "mac_address")
        scriptResult = try row.decode(forColumn: "script_result")
        usbDeviceId = try row.decode(forColumn: "usb_device_id")
        name = try row.decode(forColumn: "name")
        externalId = try row.decode(forColumn: "external_id")
        metadata = try row.decode(forColumn: "metadata")
        vcpu = try row.decode(forColumn: "vcpu")
        vramMb = try row.decode(forColumn: "vram_mb")
        arch = try row.decode(forColumn: "arch")
        vlan = try row.decode(forColumn: "vlan")
        progress = try row.decode(forColumn: "progress")
        vminfo = try row.decode(forColumn: "vminfo")
        waitReason = try row.decode(forColumn: "wait_reason")
        deleteLock = try row.decode(forColumn: "delete_lock")
        tags = Self.tags(fromText: try row.decode(forColumn: "tags"))
        stopReason = try row.decode(forColumn: "stop_reason")
        stoppedBy = try row.decode(forColumn: "stopped_by")
        stoppedAt = try row.decode(forColumn: "stopped_at")
        restartPolicy = try row.decode(forColumn: "restart_policy")
        maxRestarts = try row.decode(forColumn: "max_restarts")
        restartCount = try row.decode(forColumn: "restart_count")
        restartAt = try row.decode(forColumn: "restart_at")
        envId = try row.decode(forColumn: "env_id")
        crTime = try row.decode(forColumn: "cr_time")
        ts = try row.decode(forColumn: "ts")
    }
}

/// A journaled change of an instance is one cached `UPDATE` of every column but `id`, with
/// its arguments bound in order, and a created instance one cached `INSERT`: GRDB's record
/// `update` and `insert` built the statement's SQL and a `PersistenceContainer` (a
/// dictionary of columns) per row, 7% of the control plane's samples while placing, and
/// about a third of a creation transaction's time (`StorageBenchmarks`).
/// `StorageFormatTests.anInstanceRowRoundTripsEveryColumn` changes every column through
/// them and reads the row back.
extension InstanceRow {
    /// Every column but `id`, in the order ``columnArguments`` binds them (`id` follows).
    private static let columns = [
        "state", "message", "template_id", "template_name", "tag", "version", "node_id",
        "target_node_id", "inflight_reqid", "priority", "group_id", "permission_group",
        "start_options", "mac_address", "script_result", "usb_device_id", "name", "external_id",
        "metadata", "vcpu", "vram_mb", "arch", "vlan", "progress", "vminfo", "wait_reason",
        "delete_lock", "tags", "stop_reason", "stopped_by", "stopped_at", "restart_policy",
        "max_restarts", "restart_count", "restart_at", "env_id", "cr_time", "ts",
    ]

    static let updateSQL =
        "UPDATE instances SET " + columns.map { "\($0) = ?" }.joined(separator: ", ") + " WHERE id = ?"

    static let insertSQL =
        "INSERT INTO instances (" + (columns + ["id"]).joined(separator: ", ") + ") VALUES ("
        + Array(repeating: "?", count: columns.count + 1).joined(separator: ", ") + ")"

    /// Writes every column of the row with this id; `false` if there is none (purged).
    public func updateAllColumns(_ db: any SQLTransaction) throws -> Bool {
        try db.execute(Self.updateSQL, columnArguments) > 0
    }

    /// ``updateAllColumns(_:)`` sent ahead (``SQLTransaction/executeLater(_:_:)``), for a
    /// journal that does not need to know whether the row was there.
    public func updateAllColumnsLater(_ db: any SQLTransaction) throws {
        try db.executeLater(Self.updateSQL, columnArguments)
    }

    /// Inserts the row; throws if one with this id exists (at the latest when the
    /// transaction's next answer is read: the insert is sent ahead).
    public func insertAllColumns(_ db: any SQLTransaction) throws {
        try db.executeLater(Self.insertSQL, columnArguments)
    }

    /// Every column, in the order of ``updateSQL`` and ``insertSQL`` (`id` last).
    private var columnArguments: [SQLValue] {
        [
            .text(state),
            .text(message),
            .text(templateId),
            .text(templateName),
            .text(tag),
            SQLValue(version),
            SQLValue(nodeId),
            .text(targetNodeId),
            .text(inflightReqid),
            SQLValue(priority),
            .text(groupId),
            .text(permissionGroup),
            SQLValue(startOptions),
            .text(macAddress),
            SQLValue(scriptResult),
            .text(usbDeviceId),
            .text(name),
            .text(externalId),
            .text(metadata),
            SQLValue(vcpu),
            SQLValue(vramMb),
            .text(arch),
            .text(vlan),
            .real(progress),
            SQLValue(vminfo),
            .text(waitReason),
            .integer(deleteLock ? 1 : 0),
            .text(Self.tagsText(tags)),
            .text(stopReason),
            .text(stoppedBy),
            .integer(stoppedAt),
            .text(restartPolicy),
            SQLValue(maxRestarts),
            SQLValue(restartCount),
            .integer(restartAt),
            .text(envId),
            .integer(crTime),
            .integer(ts),
            .text(id),
        ]
    }

    /// The columns in the order of ``columnArguments``, for ``SQLRecord/columns()``.
    private static let allColumns = columns + ["id"]
}

extension InstanceRow: SQLRecord {
    public static var tableName: String { databaseTableName }

    public func columns() throws -> [(name: String, value: SQLValue)] {
        Array(zip(Self.allColumns, columnArguments)).map { (name: $0.0, value: $0.1) }
    }

    /// Read column by column, for the reason given above.
    public init(row: SQLRow) throws {
        func text(_ name: String) throws -> String {
            guard let value = row[name].string else { throw Self.missing(name, row) }
            return value
        }
        func integer(_ name: String) throws -> Int64 {
            guard let value = row[name].int64 else { throw Self.missing(name, row) }
            return value
        }
        id = try text("id")
        state = try text("state")
        message = try text("message")
        templateId = try text("template_id")
        templateName = try text("template_name")
        tag = try text("tag")
        version = Int(try integer("version"))
        nodeId = row["node_id"].string
        targetNodeId = try text("target_node_id")
        inflightReqid = try text("inflight_reqid")
        priority = Int(try integer("priority"))
        groupId = try text("group_id")
        permissionGroup = try text("permission_group")
        startOptions = row["start_options"].bytes
        macAddress = try text("mac_address")
        scriptResult = row["script_result"].bytes
        usbDeviceId = try text("usb_device_id")
        name = try text("name")
        externalId = try text("external_id")
        metadata = try text("metadata")
        vcpu = Int(try integer("vcpu"))
        vramMb = Int(try integer("vram_mb"))
        arch = try text("arch")
        vlan = try text("vlan")
        guard let progress = row["progress"].double else { throw Self.missing("progress", row) }
        self.progress = progress
        vminfo = row["vminfo"].bytes
        waitReason = try text("wait_reason")
        deleteLock = try integer("delete_lock") != 0
        tags = Self.tags(fromText: try text("tags"))
        stopReason = try text("stop_reason")
        stoppedBy = try text("stopped_by")
        stoppedAt = try integer("stopped_at")
        restartPolicy = try text("restart_policy")
        maxRestarts = Int(try integer("max_restarts"))
        restartCount = Int(try integer("restart_count"))
        restartAt = try integer("restart_at")
        envId = try text("env_id")
        crTime = try integer("cr_time")
        ts = try integer("ts")
    }

    /// Tags as the `tags` column holds them: one per line.
    static func tagsText(_ tags: [String]) -> String {
        tags.isEmpty ? "" : tags.joined(separator: "\n")
    }

    static func tags(fromText text: String) -> [String] {
        text.isEmpty ? [] : text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    private static func missing(_ column: String, _ row: SQLRow) -> DecodingError {
        .dataCorrupted(.init(codingPath: [], debugDescription: "instances.\(column) is \(row[column]), not a value of its type"))
    }
}
