import Persistence

/// What the instances placed on one node take of it, kept up to date as instances change,
/// so that scheduling and node listings never add it up from every live instance.
struct NodeOccupancy: Equatable {
    /// Instances that occupy the node: placed there, neither `Terminated` nor `Error`.
    var instanceIDs: Set<String> = []
    var vcpu = 0
    var ramMB = 0
    /// How many of them are `Started`.
    var started = 0
    /// USB device ids they hold, with how many hold each (one, unless an operator forced it).
    var usbDevices: [String: Int] = [:]

    var count: Int { instanceIDs.count }
    var isEmpty: Bool { instanceIDs.isEmpty }

    /// Whether `row` occupies its node.
    static func occupies(_ row: InstanceRow) -> Bool {
        row.nodeId != nil && row.state != "Terminated" && row.state != "Error"
    }

    mutating func add(_ row: InstanceRow) {
        instanceIDs.insert(row.id)
        vcpu += row.vcpu
        ramMB += row.vramMb
        if row.state == "Started" { started += 1 }
        if !row.usbDeviceId.isEmpty { usbDevices[row.usbDeviceId, default: 0] += 1 }
    }

    mutating func remove(_ row: InstanceRow) {
        instanceIDs.remove(row.id)
        vcpu -= row.vcpu
        ramMB -= row.vramMb
        if row.state == "Started" { started -= 1 }
        if !row.usbDeviceId.isEmpty {
            let left = (usbDevices[row.usbDeviceId] ?? 1) - 1
            usbDevices[row.usbDeviceId] = left > 0 ? left : nil
        }
    }
}
