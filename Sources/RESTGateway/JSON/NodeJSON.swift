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
            "ip_address": record.ipAddress,
            "state": record.state,
            "capacity": record.capacity,
            "capacity_mode": record.capacityMode,
            "drain_mode": record.drainMode,
            "disk_size": record.diskSizeBytes,
            "free_disk_space": record.freeDiskBytes,
            "anka_disk_usage": max(0, record.diskSizeBytes - record.freeDiskBytes),
            "templates": record.templates.map { ["uuid": $0.templateID, "name": $0.name, "tag": $0.tag] },
            "anka_version": ["product": "Berth", "version": record.agentVersion],
        ]
        if !record.arch.isEmpty { node["arch"] = record.arch }
        return node
    }
}
