import WireProtocol

/// Renders nodes in Anka's shape.
enum NodeJSON {
    static func node(_ record: NodeRecord) -> [String: Any] {
        var node: [String: Any] = [
            "node_id": record.nodeID,
            "node_name": record.name,
            "cpu_count": record.cpuCount,
            "ram": record.ramMB / 1024,
            "vm_count": record.vmCount,
            "vcpu_count": record.vcpuCount,
            "vram": record.vramMB,
            "cpu_util": record.cpuUtil,
            "ram_util": record.ramUtil,
            "ip_address": record.host.isEmpty ? record.ipAddress : record.host,
            "state": record.state,
            "capacity": record.capacity,
            "capacity_mode": record.capacityMode,
            "vcpu_override": record.vcpuOverride,
            "ram_override": record.ramOverride,
            "drain_mode": record.drainMode,
            "disk_size": record.diskSizeBytes,
            "free_disk_space": record.freeDiskBytes,
            "anka_disk_usage": record.cacheBytes,
            "host_arch": record.arch,
            "templates": record.templates.map {
                ["uuid": $0.templateID, "name": $0.name, "tag": $0.tag, "size": $0.size] as [String: Any]
            },
            "usb_devices": record.usbDevices.map { ["name": $0.name, "id": $0.id, "busy": $0.busy] as [String: Any] },
            "anka_version": ["product": "Berth", "version": record.agentVersion],
            "agent_version": record.agentVersion,
            "last_updated": AnkaJSON.timestamp(micros: record.lastSeenMicros),
            "timestamp": record.lastSeenMicros / 1_000_000,
        ]
        if !record.groups.isEmpty { node["groups"] = record.groups.map(GroupJSON.group) }
        return node
    }
}
