import GRDB

/// A row of `nodes`.
public struct NodeRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "nodes"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: String
    public var name: String = ""
    /// `Active`, `Offline`, `Updating`, `Unhealthy`.
    public var state: String = "Offline"
    public var ipAddress: String = ""
    public var cpuCount: Int = 0
    public var ramMb: Int = 0
    public var arch: String = ""
    public var maxVmCount: Int = 2
    public var capacityMode: String = "number"
    public var vcpuOverride: Int = 0
    public var ramOverride: Int = 0
    public var drainMode: Bool = false
    public var agentVersion: String = ""
    /// Templates the node holds, wire-encoded by the control plane (opaque here).
    public var templates: [UInt8]?
    public var diskSize: Int = 0
    public var freeDisk: Int = 0
    public var cpuUtil: Double = 0
    public var ramUtil: Double = 0
    public var lastSeen: Int64 = 0
    public var createdAt: Int64
    /// Idempotency key of the last applied instance event: agent epoch and sequence.
    public var eventEpoch: Int64 = 0
    public var eventSeq: Int64 = 0
    /// `true` once an operator set the capacity; the node's own report no longer applies.
    public var capacityConfigured: Bool = false
    /// Host name set by an operator (Anka `host`); empty uses the reported address.
    public var host: String = ""
    /// VLAN ids, one per line.
    public var vlans: String = ""
    /// USB devices, one `name<TAB>id` per line.
    public var usbDevices: String = ""
    /// Bytes of the node's template cache, as it last reported.
    public var cacheBytes: Int = 0

    /// Every column but the key, the creation time and the event key.
    static let descriptionColumns: [String] = [
        "name", "state", "ip_address", "cpu_count", "ram_mb", "arch", "max_vm_count", "capacity_mode",
        "vcpu_override", "ram_override", "drain_mode", "agent_version", "templates", "disk_size", "free_disk",
        "cpu_util", "ram_util", "last_seen", "capacity_configured", "host", "vlans", "usb_devices", "cache_bytes",
    ]

    /// `UPDATE nodes SET <descriptionColumns> WHERE id = ?`.
    static let updateDescriptionSQL =
        "UPDATE nodes SET \(descriptionColumns.map { "\($0) = ?" }.joined(separator: ", ")) WHERE id = ?"

    /// The values of ``descriptionColumns``, in their order, then the key.
    var descriptionArguments: [SQLValue] {
        [
            .text(name), .text(state), .text(ipAddress), SQLValue(cpuCount), SQLValue(ramMb), .text(arch),
            SQLValue(maxVmCount), .text(capacityMode), SQLValue(vcpuOverride), SQLValue(ramOverride),
            SQLValue(drainMode), .text(agentVersion), SQLValue(templates), SQLValue(diskSize), SQLValue(freeDisk),
            .real(cpuUtil), .real(ramUtil), .integer(lastSeen), SQLValue(capacityConfigured), .text(host),
            .text(vlans), .text(usbDevices), SQLValue(cacheBytes),
            .text(id),
        ]
    }

    /// Writes every description column with one cached statement: every connect and
    /// reconnect writes its node, and GRDB's Codable update encoded all 28 columns through
    /// a keyed container to write 23 (6% of the control plane's CPU in a reconnect of
    /// 10,000 nodes). `false` when no row has this id.
    func updateDescription(_ db: any SQLTransaction) throws -> Bool {
        try db.execute(Self.updateDescriptionSQL, descriptionArguments) > 0
    }

    public var vlanList: [String] { vlans.isEmpty ? [] : vlans.components(separatedBy: "\n") }

    /// `(name, id)` of each USB device.
    public var usbDeviceList: [(name: String, id: String)] {
        usbDevices.isEmpty
            ? []
            : usbDevices.components(separatedBy: "\n").map {
                let parts = $0.split(separator: "\t", maxSplits: 1).map(String.init)
                return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
            }
    }

    public init(id: String, name: String, createdAt: Int64) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

extension NodeRow: SQLRecord {
    public static var tableName: String { databaseTableName }
}
