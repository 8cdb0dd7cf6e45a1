import WireProtocol

/// Writes `GET /api/v1/vm`'s entries straight into a ``JSONSink``, field by field.
///
/// The list is the API's largest answer (10,000 instances make about 10 MB), and the
/// `Encodable` route costs a boxed container and a frame per nested object, for every
/// instance. This writer produces the same bytes as ``InstanceListEntryJSON`` (the
/// reference, which `InstanceListWriterTests` compares it against), without them.
enum InstanceListWriter {
    /// One list entry: `instance_id`, the `vm` object, `external_id` and `name` when set.
    static func appendEntry(_ record: InstanceRecord, registry: String, to sink: JSONSink) throws {
        sink.put("{\"instance_id\":")
        sink.write(record.instanceID)
        sink.put(",\"vm\":")
        try appendVM(record, registry: registry, to: sink)
        field("external_id", unlessEmpty: record.externalID, sink)
        field("name", unlessEmpty: record.name, sink)
        sink.put(UInt8(ascii: "}"))
    }

    /// The `vm` object, as ``InstanceJSON`` encodes it.
    static func appendVM(_ record: InstanceRecord, registry: String, to sink: JSONSink) throws {
        sink.put("{\"instance_id\":")
        sink.write(record.instanceID)
        sink.put(",\"instance_state\":")
        sink.write(record.state.description)
        sink.put(",\"anka_registry\":")
        sink.write(registry)
        sink.put(",\"vmid\":")
        sink.write(record.templateID)
        sink.put(",\"group_id\":")
        sink.write(record.groupID)
        sink.put(",\"ts\":")
        sink.writeTimestamp(micros: record.tsMicros)
        sink.put(",\"cr_time\":")
        sink.writeTimestamp(micros: record.createdMicros)
        sink.put(",\"progress\":")
        sink.write(record.progress)
        sink.put(",\"vlan\":")
        sink.write(record.vlan)
        sink.put(",\"usb_device\":")
        sink.write(record.usbDevice)
        field("message", unlessEmpty: record.message, sink)
        field("tag", unlessEmpty: record.tag, sink)
        if record.version > 0 {
            sink.put(",\"version\":")
            sink.write(record.version)
        }
        field("node_id", unlessEmpty: record.nodeID, sink)
        field("inflight_reqid", unlessEmpty: record.inflightRequestID, sink)
        field("name", unlessEmpty: record.name, sink)
        field("external_id", unlessEmpty: record.externalID, sink)
        field("arch", unlessEmpty: record.arch, sink)
        field("mac_address", unlessEmpty: record.macAddress, sink)
        field("wait_reason", unlessEmpty: record.waitReason, sink)
        // Stored metadata was written by a gateway as a JSON object; anything else is left out.
        if record.metadataJSON.first == "{" {
            sink.put(",\"metadata\":")
            sink.bytes.append(contentsOf: record.metadataJSON.utf8)
        }
        if let info = record.vmInfo {
            sink.put(",\"vminfo\":")
            appendVMInfo(info, nodeID: record.nodeID, to: sink)
        }
        if let result = record.scriptResult {
            sink.put(",\"startup_script\":")
            try sink.encodeValue(ScriptResultJSON(result, nullWhenNoErrors: false))
        }
        if record.deleteLock { sink.put(",\"delete_lock\":true") }
        if !record.tags.isEmpty {
            sink.put(",\"tags\":[")
            for (index, tag) in record.tags.enumerated() {
                if index > 0 { sink.put(UInt8(ascii: ",")) }
                sink.write(tag)
            }
            sink.put(UInt8(ascii: "]"))
        }
        if !record.stopReason.isEmpty {
            sink.put(",\"stop_reason\":")
            sink.write(record.stopReason)
            sink.put(",\"stopped_by\":")
            sink.write(record.stoppedBy)
            sink.put(",\"stopped_at\":")
            sink.writeTimestamp(micros: record.stoppedAtMicros)
        }
        if !record.restartPolicy.isEmpty, record.restartPolicy != "never" {
            sink.put(",\"restart_policy\":")
            sink.write(record.restartPolicy)
            sink.put(",\"restart_count\":")
            sink.write(record.restartCount)
            sink.put(",\"max_restarts\":")
            sink.write(record.maxRestarts)
            if record.restartAtMicros > 0 {
                sink.put(",\"restart_at\":")
                sink.writeTimestamp(micros: record.restartAtMicros)
            }
        }
        sink.put(UInt8(ascii: "}"))
    }

    /// Anka's `vminfo`, as ``VMInfoJSON`` encodes it.
    static func appendVMInfo(_ info: VMInfo, nodeID: String, to sink: JSONSink) {
        sink.put("{\"uuid\":")
        sink.write(info.uuid)
        sink.put(",\"name\":")
        sink.write(info.name)
        sink.put(",\"status\":")
        sink.write(info.status)
        sink.put(",\"version\":\"\",\"cpu_cores\":")
        sink.write(info.cpuCores)
        sink.put(",\"ram\":")
        sink.write(AnkaJSON.ram(megabytes: info.ramMB))
        sink.put(",\"node_id\":")
        sink.write(nodeID)
        sink.put(",\"host_ip\":")
        sink.write(info.hostIP)
        sink.put(",\"ip\":")
        sink.write(info.ip)
        sink.put(",\"vnc_port\":")
        sink.write(info.vncPort)
        sink.put(",\"vnc_connection_string\":")
        sink.write("vnc://:@\(info.hostIP):\(info.vncPort)")
        sink.put(",\"port_forwarding\":[")
        for (index, forward) in info.portForwarding.enumerated() {
            if index > 0 { sink.put(UInt8(ascii: ",")) }
            sink.put("{\"guest_port\":")
            sink.write(forward.guestPort)
            sink.put(",\"host_port\":")
            sink.write(forward.hostPort)
            sink.put(",\"protocol\":")
            sink.write(forward.proto)
            sink.put(",\"name\":")
            sink.write(forward.name)
            sink.put(UInt8(ascii: "}"))
        }
        sink.put("],\"creation_date\":")
        sink.writeTimestamp(micros: info.creationDateMicros)
        sink.put(",\"start_date\":")
        sink.writeTimestamp(micros: info.startDateMicros)
        sink.put(",\"stop_date\":")
        sink.writeTimestamp(micros: info.stopDateMicros)
        sink.put(",\"timestamp\":")
        sink.writeTimestamp(micros: max(info.startDateMicros, info.stopDateMicros))
        if info.creationDateMicros > 0 {
            sink.put(",\"access_date\":")
            sink.writeTimestamp(micros: info.startDateMicros)
        }
        sink.put(UInt8(ascii: "}"))
    }

    /// `,"key":"value"`, unless `value` is empty (Anka leaves such fields out).
    @inline(__always)
    private static func field(_ key: StaticString, unlessEmpty value: String, _ sink: JSONSink) {
        guard !value.isEmpty else { return }
        sink.put(UInt8(ascii: ","))
        sink.put(UInt8(ascii: "\""))
        sink.put(key)
        sink.put("\":")
        sink.write(value)
    }
}

extension JSONSink {
    /// A quoted ``AnkaJSON/timestamp(micros:)``, written without making a `String`.
    func writeTimestamp(micros: Int) {
        put(UInt8(ascii: "\""))
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { text in
            let count = AnkaJSON.formatTimestamp(micros: micros, into: text)
            put(UnsafePointer(text.baseAddress), from: 0, to: count)
        }
        put(UInt8(ascii: "\""))
    }
}
