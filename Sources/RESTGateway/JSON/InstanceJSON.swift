import WireProtocol

/// An instance in Anka's shape: the `vm` object (also the body of `GET /api/v1/vm?id=`).
///
/// Fields are omitted when empty, except those Anka always sends: `vmid`, `group_id`,
/// `instance_state`, `anka_registry`, `ts`, `cr_time`, `progress`, `vlan`, `usb_device`.
struct InstanceJSON: Encodable {
    let record: InstanceRecord
    let registry: String

    init(_ record: InstanceRecord, registry: String) {
        self.record = record
        self.registry = registry
    }

    enum CodingKeys: String, CodingKey {
        case instanceID = "instance_id", state = "instance_state", registry = "anka_registry", vmid
        case groupID = "group_id", ts, crTime = "cr_time", progress, vlan, usbDevice = "usb_device"
        case message, tag, version, nodeID = "node_id", inflightRequestID = "inflight_reqid", name
        case externalID = "external_id", arch, macAddress = "mac_address", waitReason = "wait_reason"
        case metadata, vminfo, startupScript = "startup_script"
        case deleteLock = "delete_lock", tags, stopReason = "stop_reason", stoppedBy = "stopped_by"
        case stoppedAt = "stopped_at", restartPolicy = "restart_policy", restartCount = "restart_count"
        case maxRestarts = "max_restarts", restartAt = "restart_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(record.instanceID, forKey: .instanceID)
        try c.encode(record.state.description, forKey: .state)
        try c.encode(registry, forKey: .registry)
        try c.encode(record.templateID, forKey: .vmid)
        try c.encode(record.groupID, forKey: .groupID)
        try c.encode(AnkaJSON.timestamp(micros: record.tsMicros), forKey: .ts)
        try c.encode(AnkaJSON.timestamp(micros: record.createdMicros), forKey: .crTime)
        try c.encode(record.progress, forKey: .progress)
        try c.encode(record.vlan, forKey: .vlan)
        try c.encode(record.usbDevice, forKey: .usbDevice)
        try c.encodeUnlessEmpty(record.message, forKey: .message)
        try c.encodeUnlessEmpty(record.tag, forKey: .tag)
        if record.version > 0 { try c.encode(record.version, forKey: .version) }
        try c.encodeUnlessEmpty(record.nodeID, forKey: .nodeID)
        try c.encodeUnlessEmpty(record.inflightRequestID, forKey: .inflightRequestID)
        try c.encodeUnlessEmpty(record.name, forKey: .name)
        try c.encodeUnlessEmpty(record.externalID, forKey: .externalID)
        try c.encodeUnlessEmpty(record.arch, forKey: .arch)
        try c.encodeUnlessEmpty(record.macAddress, forKey: .macAddress)
        try c.encodeUnlessEmpty(record.waitReason, forKey: .waitReason)
        // Stored metadata was written by a gateway as a JSON object; anything else is left out.
        if record.metadataJSON.first == "{" { try c.encode(RawJSON(text: record.metadataJSON), forKey: .metadata) }
        if let info = record.vmInfo { try c.encode(VMInfoJSON(info, nodeID: record.nodeID), forKey: .vminfo) }
        if let result = record.scriptResult {
            try c.encode(ScriptResultJSON(result, nullWhenNoErrors: false), forKey: .startupScript)
        }
        // Berth's extension (docs/extensions.md), each only when set: Anka clients see
        // nothing new on instances that use none of it.
        if record.deleteLock { try c.encode(true, forKey: .deleteLock) }
        if !record.tags.isEmpty { try c.encode(record.tags, forKey: .tags) }
        if !record.stopReason.isEmpty {
            try c.encode(record.stopReason, forKey: .stopReason)
            try c.encode(record.stoppedBy, forKey: .stoppedBy)
            try c.encode(AnkaJSON.timestamp(micros: record.stoppedAtMicros), forKey: .stoppedAt)
        }
        if !record.restartPolicy.isEmpty, record.restartPolicy != "never" {
            try c.encode(record.restartPolicy, forKey: .restartPolicy)
            try c.encode(record.restartCount, forKey: .restartCount)
            try c.encode(record.maxRestarts, forKey: .maxRestarts)
            if record.restartAtMicros > 0 {
                try c.encode(AnkaJSON.timestamp(micros: record.restartAtMicros), forKey: .restartAt)
            }
        }
    }
}

/// One entry of `GET /api/v1/vm`: `instance_id`, the `vm` object, and the name fields.
///
/// The list itself is written by ``InstanceListWriter``, field by field; this is the
/// reference its test holds it to.
struct InstanceListEntryJSON: Encodable {
    let vm: InstanceJSON

    init(_ record: InstanceRecord, registry: String) { vm = InstanceJSON(record, registry: registry) }

    enum CodingKeys: String, CodingKey { case instanceID = "instance_id", vm, externalID = "external_id", name }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vm.record.instanceID, forKey: .instanceID)
        try c.encode(vm, forKey: .vm)
        try c.encodeUnlessEmpty(vm.record.externalID, forKey: .externalID)
        try c.encodeUnlessEmpty(vm.record.name, forKey: .name)
    }
}

/// A script's outcome: `return_code`, `did_timeout`, `stdout`, `stderr`, `errors`. With no
/// errors, `errors` is null in Anka's save-image `script_result` and left out of an
/// instance's `startup_script`.
struct ScriptResultJSON: Encodable {
    let result: ScriptResult
    let nullWhenNoErrors: Bool

    init(_ result: ScriptResult, nullWhenNoErrors: Bool) {
        self.result = result
        self.nullWhenNoErrors = nullWhenNoErrors
    }

    enum CodingKeys: String, CodingKey {
        case returnCode = "return_code", didTimeout = "did_timeout", stdout, stderr, errors, shell
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(result.returnCode, forKey: .returnCode)
        try c.encode(result.didTimeout, forKey: .didTimeout)
        try c.encode(result.stdout, forKey: .stdout)
        try c.encode(result.stderr, forKey: .stderr)
        // Which shell ran the script (Berth's addition; Anka clients ignore unknown keys).
        if !result.shell.isEmpty { try c.encode(result.shell, forKey: .shell) }
        if !result.errors.isEmpty {
            try c.encode(result.errors, forKey: .errors)
        } else if nullWhenNoErrors {
            try c.encodeNil(forKey: .errors)
        }
    }
}

/// Anka's `vminfo`: what the node reports about the running VM.
struct VMInfoJSON: Encodable {
    let info: VMInfo
    let nodeID: String

    init(_ info: VMInfo, nodeID: String) {
        self.info = info
        self.nodeID = nodeID
    }

    enum CodingKeys: String, CodingKey {
        case uuid, name, status, version, cpuCores = "cpu_cores", ram, nodeID = "node_id", hostIP = "host_ip", ip
        case vncPort = "vnc_port", vncConnectionString = "vnc_connection_string", portForwarding = "port_forwarding"
        case creationDate = "creation_date", startDate = "start_date", stopDate = "stop_date", timestamp
        case accessDate = "access_date"
    }

    struct PortForwardJSON: Encodable {
        let guest_port: Int
        let host_port: Int
        let `protocol`: String
        let name: String
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(info.uuid, forKey: .uuid)
        try c.encode(info.name, forKey: .name)
        try c.encode(info.status, forKey: .status)
        try c.encode("", forKey: .version)
        try c.encode(info.cpuCores, forKey: .cpuCores)
        try c.encode(AnkaJSON.ram(megabytes: info.ramMB), forKey: .ram)
        try c.encode(nodeID, forKey: .nodeID)
        try c.encode(info.hostIP, forKey: .hostIP)
        try c.encode(info.ip, forKey: .ip)
        try c.encode(info.vncPort, forKey: .vncPort)
        try c.encode("vnc://:@\(info.hostIP):\(info.vncPort)", forKey: .vncConnectionString)
        try c.encode(
            info.portForwarding.map {
                PortForwardJSON(guest_port: $0.guestPort, host_port: $0.hostPort, protocol: $0.proto, name: $0.name)
            },
            forKey: .portForwarding
        )
        try c.encode(AnkaJSON.timestamp(micros: info.creationDateMicros), forKey: .creationDate)
        try c.encode(AnkaJSON.timestamp(micros: info.startDateMicros), forKey: .startDate)
        try c.encode(AnkaJSON.timestamp(micros: info.stopDateMicros), forKey: .stopDate)
        try c.encode(AnkaJSON.timestamp(micros: max(info.startDateMicros, info.stopDateMicros)), forKey: .timestamp)
        if info.creationDateMicros > 0 {
            try c.encode(AnkaJSON.timestamp(micros: info.startDateMicros), forKey: .accessDate)
        }
    }
}

extension KeyedEncodingContainer {
    /// Writes `value` unless it is the empty string: Anka leaves such fields out.
    mutating func encodeUnlessEmpty(_ value: String, forKey key: Key) throws {
        if !value.isEmpty { try encode(value, forKey: key) }
    }
}
