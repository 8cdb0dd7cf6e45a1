import WireProtocol

/// A node in Anka's shape.
struct NodeJSON: Encodable {
    struct Template: Encodable {
        let uuid: String
        let name: String
        let tag: String
        let size: Int
    }

    struct USB: Encodable {
        let name: String
        let id: String
        let busy: Bool
    }

    struct AnkaVersion: Encodable {
        let product = "Berth"
        let version: String
    }

    let node_id: String
    let node_name: String
    let cpu_count: Int
    let ram: Int
    let vm_count: Int
    let vcpu_count: Int
    let vram: Int
    let cpu_util: Double
    let ram_util: Double
    let ip_address: String
    let state: String
    let capacity: Int
    let capacity_mode: String
    let vcpu_override: Int
    let ram_override: Int
    let drain_mode: Bool
    let disk_size: Int
    let free_disk_space: Int
    let anka_disk_usage: Int
    let host_arch: String
    let templates: [Template]
    let usb_devices: [USB]
    let anka_version: AnkaVersion
    let agent_version: String
    let last_updated: String
    let timestamp: Int
    /// Left out when the node is in no group.
    let groups: [GroupJSON]?

    init(_ record: NodeRecord) {
        node_id = record.nodeID
        node_name = record.name
        cpu_count = record.cpuCount
        ram = record.ramMB / 1024
        vm_count = record.vmCount
        vcpu_count = record.vcpuCount
        vram = record.vramMB
        cpu_util = record.cpuUtil
        ram_util = record.ramUtil
        ip_address = record.host.isEmpty ? record.ipAddress : record.host
        state = record.state
        capacity = record.capacity
        capacity_mode = record.capacityMode
        vcpu_override = record.vcpuOverride
        ram_override = record.ramOverride
        drain_mode = record.drainMode
        disk_size = record.diskSizeBytes
        free_disk_space = record.freeDiskBytes
        anka_disk_usage = record.cacheBytes
        host_arch = record.arch
        templates = record.templates.map { Template(uuid: $0.templateID, name: $0.name, tag: $0.tag, size: $0.size) }
        usb_devices = record.usbDevices.map { USB(name: $0.name, id: $0.id, busy: $0.busy) }
        anka_version = AnkaVersion(version: record.agentVersion)
        agent_version = record.agentVersion
        last_updated = AnkaJSON.timestamp(micros: record.lastSeenMicros)
        timestamp = record.lastSeenMicros / 1_000_000
        groups = record.groups.isEmpty ? nil : record.groups.map(GroupJSON.init)
    }
}
