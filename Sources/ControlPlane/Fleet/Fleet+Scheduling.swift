import Foundation
import Persistence
import WireProtocol

extension Fleet {
    /// Asks for a scheduling pass. Requests made while one runs fold into one more pass.
    func requestScheduling() {
        if schedulingRunning {
            schedulingRequested = true
            return
        }
        schedulingRunning = true
        Task { await self.schedulingLoop() }
    }

    private func schedulingLoop() async {
        repeat {
            schedulingRequested = false
            await runSchedulingPass()
        } while schedulingRequested
        schedulingRunning = false
    }

    /// One pass: place what can be placed, record why the rest waits, commit once, send commands.
    func runSchedulingPass() async {
        do {
            let pending = try await database.pendingInstances()
            guard !pending.isEmpty else { return }
            let placed = try await database.placedLiveInstances()
            let memberships = try await database.groupMemberships()
            let groups = Dictionary(uniqueKeysWithValues: try await database.groups().map { ($0.id, $0) })
            // USB devices: each node's devices minus those claimed by its live instances.
            var claimed: [String: Set<String>] = [:]
            for instance in placed where !instance.usbDeviceId.isEmpty {
                claimed[instance.nodeId ?? "", default: []].insert(instance.usbDeviceId)
            }
            var freeUSB: [String: [(name: String, id: String)]] = [:]
            for node in nodes.values {
                freeUSB[node.id] = node.usbDeviceList.filter { !(claimed[node.id]?.contains($0.id) ?? false) }
            }
            var running: [String: (count: Int, vcpu: Int, ram: Int)] = [:]
            for instance in placed {
                let current = running[instance.nodeId ?? ""] ?? (0, 0, 0)
                running[instance.nodeId ?? ""] = (
                    current.count + 1, current.vcpu + instance.vcpu, current.ram + instance.vramMb
                )
            }
            let candidates = nodes.values.map { node in
                let held = TemplateSet(bytes: node.templates).templates
                var candidate = SchedulerNode(
                    id: node.id,
                    name: node.name,
                    arch: node.arch,
                    isActive: links[node.id]?.ready == true && links[node.id]?.updating != true,
                    drainMode: node.drainMode,
                    maxVMCount: node.maxVmCount,
                    running: running[node.id]?.count ?? 0,
                    templates: Set(held.map(\.templateID)),
                    groups: memberships[node.id] ?? [],
                    resourceCapacity: node.capacityMode == "resource",
                    vcpuCapacity: node.vcpuOverride > 0 ? node.vcpuOverride : node.cpuCount,
                    // ram_override is in GB, like the node's `ram`.
                    ramCapacityMB: node.ramOverride > 0 ? node.ramOverride * 1024 : node.ramMb,
                    usedVCPU: running[node.id]?.vcpu ?? 0,
                    usedRAMMB: running[node.id]?.ram ?? 0,
                    usbFree: (freeUSB[node.id] ?? []).reduce(into: [:]) { $0[$1.name, default: 0] += 1 }
                )
                candidate.versions = Set(held.map { SchedulerNode.versionKey(templateID: $0.templateID, tag: $0.tag) })
                return candidate
            }
            var allowed: [String: Set<String>] = [:]
            if let permissions {
                for name in Set(pending.map(\.permissionGroup)) where !name.isEmpty {
                    allowed[name] = await permissions.resourceIDs([name], type: "node", permission: "create_instance")
                }
            }
            // Decoded once per pass: the USB device group each waiting instance asked for.
            let usbWanted = Dictionary(
                pending.compactMap { row -> (String, String)? in
                    let name = Self.usbDeviceName(of: row)
                    return name.isEmpty ? nil : (row.id, name)
                },
                uniquingKeysWith: { a, _ in a }
            )
            let rows = Dictionary(pending.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let decision = scheduler.schedule(
                queue: pending.map {
                    var request = SchedulerRequest(
                        instanceID: $0.id,
                        priority: $0.priority,
                        createdMicros: $0.crTime,
                        templateID: $0.templateId,
                        arch: $0.arch,
                        vcpu: $0.vcpu,
                        ramMB: $0.vramMb,
                        usbDevice: usbWanted[$0.id] ?? "",
                        targetNodeID: $0.targetNodeId,
                        groupChain: $0.groupId.isEmpty ? [] : Self.groupChain(from: $0.groupId, groups: groups),
                        permissionGroup: $0.permissionGroup,
                        allowedNodes: allowed[$0.permissionGroup]
                    )
                    request.tag = $0.tag
                    return request
                },
                nodes: candidates
            )
            let now = BerthDatabase.nowMicros()
            let placements = decision.placements.compactMap { placement -> Placement? in
                guard let row = rows[placement.instanceID] else { return nil }
                let nodeName = nodes[placement.nodeID]?.name ?? ""
                var spec = Self.startSpec(for: row, nodeID: placement.nodeID, nodeName: nodeName, now: now)
                let wanted = usbWanted[row.id] ?? ""
                if !wanted.isEmpty, let index = freeUSB[placement.nodeID]?.firstIndex(where: { $0.name == wanted }) {
                    spec.options.usbDeviceID = freeUSB[placement.nodeID]?.remove(at: index).id ?? ""
                }
                var result = Placement(
                    instanceID: row.id,
                    nodeID: placement.nodeID,
                    requestID: RandomID.uuid(),
                    commandPayload: spec.encodedBytes()
                )
                result.usbDeviceID = spec.options.usbDeviceID
                return result
            }
            let commands = try await database.commitSchedulingPass(
                placements: placements,
                waitReasons: decision.waiting,
                now: now
            )
            for nodeID in Set(commands.map(\.nodeId)) {
                await flushCommands(nodeID: nodeID)
            }
            for command in commands { await publishInstance(id: command.instanceId) }
            // Watchers learn why an instance waits as soon as the reason changes.
            for (id, reason) in decision.waiting {
                guard var row = rows[id], row.waitReason != reason else { continue }
                row.waitReason = reason
                events.publish(.instance(InstanceRecord(row)))
            }
            if !commands.isEmpty {
                logger.debug(
                    "scheduling pass",
                    metadata: ["placed": "\(commands.count)", "waiting": "\(decision.waiting.count)"]
                )
            }
        } catch is CancellationError {
            return
        } catch {
            logger.error("scheduling pass failed", metadata: ["error": "\(error)"])
        }
    }

    /// The `usb_device` a start asked for.
    static func usbDeviceName(of row: InstanceRow) -> String {
        guard let bytes = row.startOptions else { return "" }
        return (try? StartOptions(bytes: bytes))?.usbDevice ?? ""
    }

    static func startSpec(for row: InstanceRow, nodeID: String, nodeName: String, now: Int64) -> StartSpec {
        var spec = StartSpec()
        spec.templateID = row.templateId
        spec.templateName = row.templateName
        spec.tag = row.tag
        spec.versionNumber = row.version
        spec.cpuCores = row.vcpu
        spec.ramMB = row.vramMb
        spec.arch = row.arch
        spec.options = row.startOptions.flatMap { try? StartOptions(bytes: $0) } ?? StartOptions()
        spec.options.macAddress = row.macAddress  // drawn from the managed pool, or as given
        let name =
            spec.options.nameTemplate.isEmpty
            ? "\(row.templateName)-\(now)000"
            : spec.options.nameTemplate
                .replacingOccurrences(of: "$template_name", with: row.templateName)
                .replacingOccurrences(of: "$template_id", with: row.templateId)
                .replacingOccurrences(of: "$instance_id", with: row.id)
                .replacingOccurrences(of: "$node_id", with: nodeID)
                .replacingOccurrences(of: "$node_name", with: nodeName)
                .replacingOccurrences(of: "$ts", with: "\(now / 1_000_000)")
        spec.vmName = "mgmtManaged-\(name)"
        return spec
    }
}
