import Foundation
import Persistence
import WireProtocol

extension Fleet {
    /// Creates `count` instances in `Scheduling`, durably, and returns their ids.
    ///
    /// Validates the request as Anka does: the template must exist, a named tag or
    /// version must exist (`No such tag <tag>`), priority is 1–10000.
    func startInstances(_ request: StartInstancesRequest) async throws -> [String] {
        try await storeNewInstances(try await newInstanceRows(request))
    }

    /// The rows a start request makes, checked as ``startInstances(_:)`` describes; nothing
    /// is stored.
    func newInstanceRows(_ request: StartInstancesRequest, envID: String = "") async throws -> [InstanceRow] {
        guard !request.templateID.isEmpty else { throw ControlPlaneError.badRequest("vmid is required") }
        guard let (template, versions) = try await database.templateWithVersions(id: request.templateID) else {
            throw ControlPlaneError.notFound("No such template \(request.templateID)")
        }
        let version: TemplateVersionRow?
        if let tag = request.tag, !tag.isEmpty {
            guard let match = versions.first(where: { $0.tag == tag }) else {
                throw ControlPlaneError.notFound("No such tag \(tag)")
            }
            version = match
        } else if let number = request.version {
            guard let match = versions.first(where: { $0.number == number }) else {
                throw ControlPlaneError.notFound("No such version \(number)")
            }
            version = match
        } else {
            version = versions.first
        }
        if !request.groupID.isEmpty, groups[request.groupID] == nil {
            throw ControlPlaneError.notFound("No such group \(request.groupID)")
        }
        let count = request.count == 0 ? 1 : request.count
        guard (1...1000).contains(count) else { throw ControlPlaneError.badRequest("count must be between 1 and 1000") }
        let priority = request.priority ?? 1000
        guard (1...10_000).contains(priority) else {
            throw ControlPlaneError.badRequest("priority must be between 1 and 10000")
        }
        if let vcpu = request.vcpu, vcpu < 1 { throw ControlPlaneError.badRequest("vcpu must be positive") }
        if let vram = request.vramMB, vram < 1 { throw ControlPlaneError.badRequest("vram must be positive") }
        let tags = try Self.checkedTags(request.tags)
        let policy: RestartPolicy
        if request.restartPolicy.isEmpty {
            policy = .never
        } else if let named = RestartPolicy(rawValue: request.restartPolicy) {
            policy = named
        } else {
            throw ControlPlaneError.badRequest("restart_policy must be never, always or on_failure")
        }
        let maxRestarts = request.maxRestarts ?? (policy == .never ? 0 : RestartPolicy.defaultMaxRestarts)
        guard (0...RestartPolicy.maxRestartsLimit).contains(maxRestarts) else {
            throw ControlPlaneError.badRequest("max_restarts must be between 0 and \(RestartPolicy.maxRestartsLimit)")
        }
        let now = BerthDatabase.nowMicros()
        let rows = (0..<count).map { i -> InstanceRow in
            var row = InstanceRow(
                id: RandomID.uuid(),
                state: InstanceState.scheduling.description,
                templateId: template.id,
                crTime: now + Int64(i)
            )
            row.templateName = template.name
            row.tag = version?.tag ?? ""
            row.version = version?.number ?? 0
            row.priority = priority
            row.groupId = request.groupID
            row.permissionGroup = request.permissionGroup
            if !request.options.isEmpty { row.startOptions = request.options.encodedBytes() }
            row.macAddress = request.options.macAddress
            row.vlan = request.options.vlanTag
            row.name = request.name
            row.externalId = request.externalID
            row.metadata = request.metadataJSON
            row.vcpu = request.vcpu ?? template.cpuCores
            row.vramMb = request.vramMB ?? template.ramMb
            row.arch = template.arch
            row.targetNodeId = request.nodeID
            row.waitReason = "waiting for the scheduler"
            row.tags = tags
            row.restartPolicy = policy.rawValue
            row.maxRestarts = maxRestarts
            row.envId = envID
            return row
        }
        return rows
    }

    /// Stores new instances in one transaction, then holds, announces and schedules them.
    func storeNewInstances(_ rows: [InstanceRow]) async throws -> [String] {
        let stored: [InstanceRow]
        do {
            stored = try await creator.create(rows)
        } catch let error as PersistenceError {
            throw ControlPlaneError(error)
        }
        for row in stored {
            instances.put(row)
            events.publish(.instance(InstanceRecord(row)))
        }
        requestScheduling()
        return stored.map(\.id)
    }

    /// One instance (`id` set) or all of them, oldest first.
    func listInstances(id: String) throws -> [InstanceRecord] {
        if !id.isEmpty {
            guard let row = instances[id] else { throw ControlPlaneError.notFound("No such instance \(id)") }
            return [InstanceRecord(row)]
        }
        return instances.all.map(InstanceRecord.init)
    }

    /// A page of every instance, oldest first, after the cursor `after`: at most `limit`,
    /// and fewer when the page nears ``InstanceTable/pageBudget`` bytes, so an answer always
    /// fits a frame however large the fleet. Records come already encoded when their
    /// instance has not changed since the last listing.
    /// With `tags`, only instances carrying every one of them are listed.
    func listInstances(after: UInt64, limit: Int, tags: [String] = []) -> InstanceList {
        let page = instances.recordPage(after: after, limit: limit, budget: InstanceTable.pageBudget, tags: tags)
        return InstanceList(encodedInstances: page.records, next: page.next)
    }

    /// One instance as memory holds it now.
    func instance(id: String) -> InstanceRecord? {
        instances[id].map(InstanceRecord.init)
    }

    /// Terminates an instance: at once if it is not placed, else through its node. `by` is
    /// who asked, as its stop reason names them. An instance with a delete lock is refused
    /// (`conflict`), unless it has ended already or `overridingLock` (an environment's
    /// expiry, or the undoing of a create that failed).
    func terminateInstance(
        id: String,
        by actor: String,
        reason: InstanceStopReason = .terminatedByUser,
        overridingLock: Bool = false
    ) async throws {
        guard !id.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        guard var row = instances[id] else { throw ControlPlaneError.notFound("No such instance \(id)") }
        if row.state == "Terminating" || row.state == "Terminated" { return }
        guard !row.deleteLock || overridingLock else {
            throw ControlPlaneError(
                .conflict,
                "instance \(id) has a delete lock; clear it (PUT /api/v1/vm?id=\(id) with {\"delete_lock\": false}) to terminate it"
            )
        }
        let now = BerthDatabase.nowMicros()
        row.ts = now
        row.recordStop(reason, by: actor, at: now)
        row.restartAt = 0
        pendingRestarts.removeValue(forKey: id)
        if let nodeID = row.nodeId {
            row.state = "Terminating"
            save(row)
            let ticket = queueCommand(nodeID: nodeID, instanceID: id, kind: "terminate", payload: nil, now: now)
            try await journal.durable(ticket)
            await flushCommands(nodeID: nodeID)
        } else {
            row.state = "Terminated"
            row.waitReason = ""
            try await journal.durable(save(row))
        }
        publishInstance(id: id)
    }

    /// Changes an instance's name, external id, metadata, delete lock or tags.
    func updateInstance(_ request: UpdateInstanceRequest) async throws {
        guard !request.instanceID.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        let tags = try request.tags.map(Self.checkedTags)
        guard var row = instances[request.instanceID] else {
            throw ControlPlaneError.notFound("No such instance \(request.instanceID)")
        }
        if let deleteLock = request.deleteLock { row.deleteLock = deleteLock }
        if let tags { row.tags = tags }
        if let name = request.name { row.name = name }
        if let externalID = request.externalID { row.externalId = externalID }
        if let metadata = request.metadataJSON { row.metadata = metadata }
        row.ts = BerthDatabase.nowMicros()
        try await journal.durable(save(row))
        publishInstance(id: row.id)
    }

    /// Restarts an instance on its node (stop, then start; a new start date).
    func restartInstance(id: String) async throws {
        guard !id.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        guard let row = instances[id] else { throw ControlPlaneError.notFound("No such instance \(id)") }
        guard let nodeID = row.nodeId, row.state == "Started" || row.state == "Stopped" else {
            throw ControlPlaneError(
                .conflict,
                "instance \(id) is \(row.state); only a Started or Stopped instance can restart"
            )
        }
        let ticket = queueCommand(
            nodeID: nodeID,
            instanceID: id,
            kind: "restart",
            payload: nil,
            now: BerthDatabase.nowMicros()
        )
        try await journal.durable(ticket)
        await flushCommands(nodeID: nodeID)
    }

    /// Applies a node's instance event exactly once and returns the acknowledgement to send,
    /// once the event is durable.
    func applyEvent(nodeID: String, event: InstanceEvent) async throws -> EventAck {
        let status = event.status
        let (outcome, ticket) = applyReport(
            TransitionReport(
                status,
                nodeID: nodeID,
                ts: event.timestampMicros > 0 ? Int64(event.timestampMicros) : BerthDatabase.nowMicros(),
                epoch: Int64(bitPattern: event.epoch),
                sequence: Int64(bitPattern: event.sequence)
            )
        )
        switch outcome {
        case .applied(let row):
            logger.trace(
                "instance event applied",
                metadata: ["node": "\(nodeID)", "instance": "\(row.id)", "state": "\(row.state)"]
            )
            if row.state == "Terminated" || row.state == "Error" || row.state == "Stopped" {
                requestScheduling()
            }
            if let ticket { try await journal.durable(ticket) }
            // As memory holds it now: a later event may have been applied meanwhile.
            publishInstance(id: row.id)
        case .notOwned:
            logger.warning(
                "node reported an instance it does not run; ignored",
                metadata: ["node": "\(nodeID)", "instance": "\(status.instanceID)"]
            )
        case .ignored:
            if let ticket { try await journal.durable(ticket) }
        case .duplicate:
            // Applied before, perhaps not durable yet: acknowledged once it is.
            try await journal.durable(journal.latest)
        }
        return EventAck(epoch: event.epoch, sequence: event.sequence)
    }
}

extension Fleet {
    /// A start's or an update's tags, checked (``InstanceTags``).
    static func checkedTags(_ tags: [String]) throws -> [String] {
        do {
            return try InstanceTags.normalized(tags)
        } catch {
            throw ControlPlaneError.badRequest(error.message)
        }
    }
}

extension InstanceRow {
    /// Records why the instance left `Started`, unless a reason is recorded already: the
    /// first cause is the one shown (a terminate's end keeps the terminate's reason).
    /// Starting again clears it (``clearStop()``).
    mutating func recordStop(_ reason: InstanceStopReason, by actor: String, at micros: Int64) {
        guard stopReason.isEmpty else { return }
        stopReason = reason.rawValue
        stoppedBy = actor
        stoppedAt = micros
    }

    /// Forgets the last stop: the instance is `Started` again.
    mutating func clearStop() {
        stopReason = ""
        stoppedBy = ""
        stoppedAt = 0
    }
}

extension InstanceRecord {
    init(_ row: InstanceRow) {
        self.init()
        instanceID = row.id
        state = InstanceState(ankaName: row.state) ?? .error
        message = row.message
        templateID = row.templateId
        templateName = row.templateName
        tag = row.tag
        version = row.version
        nodeID = row.nodeId ?? ""
        inflightRequestID = row.inflightReqid
        tsMicros = Int(row.ts)
        createdMicros = Int(row.crTime)
        progress = row.progress
        groupID = row.groupId
        name = row.name
        externalID = row.externalId
        metadataJSON = row.metadata
        arch = row.arch
        vlan = row.vlan
        macAddress = row.macAddress
        if let bytes = row.startOptions, let options = try? StartOptions(bytes: bytes) { usbDevice = options.usbDevice }
        priority = row.priority
        if let bytes = row.vminfo { vmInfo = try? VMInfo(bytes: bytes) }
        if let bytes = row.scriptResult { scriptResult = try? ScriptResult(bytes: bytes) }
        waitReason = row.state == "Scheduling" ? row.waitReason : ""
        deleteLock = row.deleteLock
        tags = row.tags
        stopReason = row.stopReason
        stoppedBy = row.stoppedBy
        stoppedAtMicros = Int(row.stoppedAt)
        restartPolicy = row.restartPolicy == RestartPolicy.never.rawValue ? "" : row.restartPolicy
        restartCount = row.restartCount
        maxRestarts = row.maxRestarts
        restartAtMicros = Int(row.restartAt)
    }
}

extension TransitionReport {
    /// A node's report of `status`, keyed by the event's `(epoch, sequence)`.
    init(_ status: InstanceStatus, nodeID: String, ts: Int64, epoch: Int64, sequence: Int64) {
        self.init(
            instanceID: status.instanceID,
            state: status.state.description,
            message: status.message,
            progress: status.progress,
            vminfo: status.vmInfo?.encodedBytes(),
            ts: ts,
            nodeID: nodeID,
            eventEpoch: epoch,
            eventSeq: sequence
        )
        scriptResult = status.scriptResult?.encodedBytes()
        exited = status.exited
    }
}
