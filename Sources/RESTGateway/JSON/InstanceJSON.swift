import Foundation
import WireProtocol

/// Renders instances in Anka's shape.
///
/// Fields are omitted when empty, except those Anka always sends: `vmid`, `group_id`,
/// `instance_state`, `anka_registry`, `ts`, `cr_time`, `progress`, `vlan`, `usb_device`.
enum InstanceJSON {
    /// The `vm` object (also the body of `GET /api/v1/vm?id=`).
    static func vm(_ record: InstanceRecord, registry: String) -> [String: Any] {
        var vm: [String: Any] = [
            "instance_id": record.instanceID,
            "instance_state": record.state.description,
            "anka_registry": registry,
            "vmid": record.templateID,
            "group_id": record.groupID,
            "ts": AnkaJSON.timestamp(micros: record.tsMicros),
            "cr_time": AnkaJSON.timestamp(micros: record.createdMicros),
            "progress": record.progress,
            "vlan": record.vlan,
            "usb_device": record.usbDevice,
        ]
        if !record.message.isEmpty { vm["message"] = record.message }
        if !record.tag.isEmpty { vm["tag"] = record.tag }
        if record.version > 0 { vm["version"] = record.version }
        if !record.nodeID.isEmpty { vm["node_id"] = record.nodeID }
        if !record.inflightRequestID.isEmpty { vm["inflight_reqid"] = record.inflightRequestID }
        if !record.name.isEmpty { vm["name"] = record.name }
        if !record.externalID.isEmpty { vm["external_id"] = record.externalID }
        if !record.arch.isEmpty { vm["arch"] = record.arch }
        if !record.macAddress.isEmpty { vm["mac_address"] = record.macAddress }
        if !record.waitReason.isEmpty { vm["wait_reason"] = record.waitReason }
        if let metadata = metadata(record.metadataJSON) { vm["metadata"] = metadata }
        if let info = record.vmInfo { vm["vminfo"] = vmInfo(info, nodeID: record.nodeID) }
        if let result = record.scriptResult { vm["startup_script"] = scriptResult(result, emptyErrors: nil) }
        return vm
    }

    /// A script's outcome: `return_code`, `did_timeout`, `stdout`, `stderr`, `errors`. With
    /// no errors, `errors` is `emptyErrors`: null in Anka's save-image `script_result`,
    /// left out (`nil`) in an instance's `startup_script`.
    static func scriptResult(_ result: ScriptResult, emptyErrors: Any? = NSNull()) -> [String: Any] {
        var script: [String: Any] = [
            "return_code": result.returnCode,
            "did_timeout": result.didTimeout,
            "stdout": result.stdout,
            "stderr": result.stderr,
        ]
        script["errors"] = result.errors.isEmpty ? emptyErrors : result.errors
        return script
    }

    /// One entry of `GET /api/v1/vm`.
    static func listEntry(_ record: InstanceRecord, registry: String) -> [String: Any] {
        var entry: [String: Any] = ["instance_id": record.instanceID, "vm": vm(record, registry: registry)]
        if !record.externalID.isEmpty { entry["external_id"] = record.externalID }
        if !record.name.isEmpty { entry["name"] = record.name }
        return entry
    }

    static func vmInfo(_ info: VMInfo, nodeID: String) -> [String: Any] {
        var object: [String: Any] = [
            "uuid": info.uuid,
            "name": info.name,
            "status": info.status,
            "version": "",
            "cpu_cores": info.cpuCores,
            "ram": AnkaJSON.ram(megabytes: info.ramMB),
            "node_id": nodeID,
            "host_ip": info.hostIP,
            "ip": info.ip,
            "vnc_port": info.vncPort,
            "vnc_connection_string": "vnc://:@\(info.hostIP):\(info.vncPort)",
            "port_forwarding": info.portForwarding.map {
                ["guest_port": $0.guestPort, "host_port": $0.hostPort, "protocol": $0.proto, "name": $0.name]
                    as [String: Any]
            },
            "creation_date": AnkaJSON.timestamp(micros: info.creationDateMicros),
            "start_date": AnkaJSON.timestamp(micros: info.startDateMicros),
            "stop_date": AnkaJSON.timestamp(micros: info.stopDateMicros),
            "timestamp": AnkaJSON.timestamp(micros: max(info.startDateMicros, info.stopDateMicros)),
        ]
        if info.creationDateMicros > 0 { object["access_date"] = AnkaJSON.timestamp(micros: info.startDateMicros) }
        return object
    }

    private static func metadata(_ text: String) -> Any? {
        guard !text.isEmpty, let data = text.data(using: .utf8) else { return nil }
        return try? JSONSerialization.jsonObject(with: data)
    }
}
