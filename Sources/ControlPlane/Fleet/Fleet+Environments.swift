import Foundation
import Persistence
import WireProtocol

/// Environments (docs/extensions.md): several instances started, watched and destroyed as
/// one unit, with an owner and a lifetime. The members are instances whose `env_id` names
/// the environment. The deadline is stored, and ``sweep()`` expires what is due, so expiry
/// does not depend on a timer a restart would lose.
extension Fleet {
    /// Checks a create, stores the environment (`creating`) and its members (`Scheduling`)
    /// and returns it. The caller waits for the members (``settleEnvironment(id:outcome:)``).
    func createEnvironment(_ request: CreateEnvironmentRequest, by actor: String) async throws -> EnvironmentRecord {
        try Self.checkEnvironmentID(request.id)
        guard (1...CreateEnvironmentRequest.maximumMembers).contains(request.members.count) else {
            throw ControlPlaneError.badRequest(
                "vms must list 1 to \(CreateEnvironmentRequest.maximumMembers) VMs"
            )
        }
        for key in request.sshKeys {
            guard !key.isEmpty, key.utf8.count <= 16_384, !key.contains(where: \.isNewline) else {
                throw ControlPlaneError.badRequest("each ssh key must be one line of at most 16384 bytes")
            }
        }
        guard request.sshKeys.count <= 64 else { throw ControlPlaneError.badRequest("at most 64 ssh keys") }
        let lifetime = request.lifetimeSeconds ?? CreateEnvironmentRequest.defaultLifetime
        guard (1...CreateEnvironmentRequest.maximumLifetime).contains(lifetime) else {
            throw ControlPlaneError.badRequest(
                "lifetime must be between 1 and \(CreateEnvironmentRequest.maximumLifetime) seconds"
            )
        }
        let placement = request.placementTimeoutSeconds ?? CreateEnvironmentRequest.defaultPlacementTimeout
        guard (1...CreateEnvironmentRequest.maximumPlacementTimeout).contains(placement) else {
            throw ControlPlaneError.badRequest(
                "timeout must be between 1 and \(CreateEnvironmentRequest.maximumPlacementTimeout) seconds"
            )
        }
        guard environments[request.id] == nil else {
            throw ControlPlaneError(.conflict, "environment \(request.id) exists")
        }
        // Every member checked (template, tag, sizes) before anything is stored.
        var rows: [InstanceRow] = []
        // Read once for every member that names its template by name.
        let templatesByName = Dictionary(
            try await database.templates().map { ($0.name, $0.id) },
            uniquingKeysWith: { first, _ in first }
        )
        for (index, member) in request.members.enumerated() {
            let start = try await memberStart(member, index: index, request: request, templatesByName: templatesByName)
            rows += try await newInstanceRows(start, envID: request.id)
        }
        let now = BerthDatabase.nowMicros()
        let environment = EnvironmentRow(
            id: request.id,
            owner: request.owner,
            createdBy: actor,
            sshKeys: request.sshKeys.joined(separator: "\n"),
            state: "creating",
            lifetimeSeconds: Int64(lifetime),
            expiresAt: now + Int64(lifetime) * 1_000_000,
            placementTimeoutSeconds: Int64(placement),
            createdAt: now
        )
        // Claimed in memory before the first suspension, so a second create of the id fails.
        guard environments[request.id] == nil else {
            throw ControlPlaneError(.conflict, "environment \(request.id) exists")
        }
        environments[request.id] = environment
        do {
            try await database.insertEnvironment(environment)
        } catch let error as PersistenceError {
            environments.removeValue(forKey: request.id)
            throw ControlPlaneError(error)
        }
        do {
            _ = try await storeNewInstances(rows)
        } catch {
            // No member stored: the environment failed as a whole.
            endEnvironment(request.id, state: "failed", message: "its VMs could not be stored: \(error)", now: now)
            throw error
        }
        await eventLog?.record(
            kind: "env.created",
            subject: request.id,
            message: "environment \(request.id) of \(request.owner) created by \(actor): \(rows.count) VMs, lifetime \(lifetime)s",
            actor: actor
        )
        logger.info("environment created", metadata: ["env": "\(request.id)", "members": "\(rows.count)"])
        return try environmentRecord(id: request.id)
    }

    /// After a create: `running` when every member started, else every member terminated
    /// (`failed`, with `reason`). Returns the environment as it is then.
    func settleEnvironment(id: String, failure reason: String?) async -> EnvironmentRecord? {
        guard var environment = environments[id], environment.state == "creating" else {
            return try? environmentRecord(id: id)
        }
        let now = BerthDatabase.nowMicros()
        if let reason {
            endEnvironment(id, state: "failed", message: reason, now: now)
            await terminateMembers(of: id, by: "environment create", reason: .terminatedByUser)
            await eventLog?.record(
                kind: "env.failed",
                subject: id,
                message: "environment \(id) not created: \(reason); its VMs were terminated",
                actor: environment.createdBy
            )
        } else {
            environment.state = "running"
            environments[id] = environment
            journal.append(.environment(environment))
        }
        return try? environmentRecord(id: id)
    }

    /// One environment (`id`) or all, those `scope` covers, oldest first.
    func listEnvironments(id: String, scope: EnvironmentScope) throws -> [EnvironmentRecord] {
        if !id.isEmpty {
            guard let environment = environments[id], scope.covers(owner: environment.owner) else {
                throw ControlPlaneError.notFound("No such environment \(id)")
            }
            return [try environmentRecord(id: environment.id)]
        }
        // Members grouped in one pass over the instances, not one pass per environment.
        var membersByEnvironment: [String: [InstanceRow]] = [:]
        for row in instances.all where !row.envId.isEmpty { membersByEnvironment[row.envId, default: []].append(row) }
        return try environments.values
            .filter { scope.covers(owner: $0.owner) }
            .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            .map { try environmentRecord(id: $0.id, members: membersByEnvironment[$0.id] ?? []) }
    }

    /// Destroys an environment: every member terminated, the environment `destroyed`.
    /// Refused (`conflict`) while a member has a delete lock.
    func destroyEnvironment(id: String, scope: EnvironmentScope, by actor: String) async throws {
        let environment = try ownedEnvironment(id, scope: scope)
        guard environment.isLive else { return }
        if let locked = members(of: id).first(where: { $0.deleteLock && $0.state != "Terminated" }) {
            throw ControlPlaneError(
                .conflict,
                "environment \(id) has a member with a delete lock (\(locked.id)); clear it to destroy the environment"
            )
        }
        endEnvironment(id, state: "destroyed", message: "destroyed by \(actor)", now: BerthDatabase.nowMicros())
        await terminateMembers(of: id, by: actor, reason: .terminatedByUser)
        await eventLog?.record(
            kind: "env.destroyed",
            subject: id,
            message: "environment \(id) destroyed by \(actor)",
            actor: actor
        )
    }

    /// Moves a live environment's deadline `seconds` later.
    func extendEnvironment(_ request: ExtendEnvironmentRequest, scope: EnvironmentScope, by actor: String) async throws
        -> EnvironmentRecord
    {
        guard (1...CreateEnvironmentRequest.maximumLifetime).contains(request.seconds) else {
            throw ControlPlaneError.badRequest(
                "seconds must be between 1 and \(CreateEnvironmentRequest.maximumLifetime)"
            )
        }
        var environment = try ownedEnvironment(request.id, scope: scope)
        guard environment.isLive else {
            throw ControlPlaneError(.conflict, "environment \(request.id) is \(environment.state); it cannot be extended")
        }
        environment.expiresAt += Int64(request.seconds) * 1_000_000
        environment.lifetimeSeconds += Int64(request.seconds)
        environments[request.id] = environment
        let ticket = journal.append(.environment(environment))
        try await journal.durable(ticket)
        await eventLog?.record(
            kind: "env.extended",
            subject: request.id,
            message: "environment \(request.id) extended by \(request.seconds)s by \(actor)",
            actor: actor
        )
        return try environmentRecord(id: request.id)
    }

    /// Stops every `Started` member's VM (`stop`), or starts every `Stopped` one again.
    func setEnvironmentRunning(id: String, running: Bool, scope: EnvironmentScope) async throws {
        var environment = try ownedEnvironment(id, scope: scope)
        guard environment.state == "running" || environment.state == "stopped" else {
            throw ControlPlaneError(.conflict, "environment \(id) is \(environment.state)")
        }
        environment.state = running ? "running" : "stopped"
        environments[id] = environment
        var last = journal.append(.environment(environment))
        let now = BerthDatabase.nowMicros()
        var nodesToFlush: Set<String> = []
        for member in members(of: id) {
            guard let nodeID = member.nodeId, member.state == (running ? "Stopped" : "Started") else { continue }
            last = queueCommand(nodeID: nodeID, instanceID: member.id, kind: running ? "restart" : "stop", payload: nil, now: now)
            nodesToFlush.insert(nodeID)
        }
        try await journal.durable(last)
        for nodeID in nodesToFlush { await flushCommands(nodeID: nodeID) }
    }

    /// Expires every live environment whose deadline has passed: each member terminated
    /// once (delete locks too: the lifetime was agreed at create), the environment `expired`.
    func expireEnvironments(now: Int64) async {
        let due = environments.values.filter { $0.isLive && $0.expiresAt <= now }.map(\.id)
        for id in due {
            // Ended in the same step as the check, so no later sweep expires it again.
            guard let environment = environments[id], environment.isLive else { continue }
            endEnvironment(id, state: "expired", message: "its lifetime ran out", now: now)
            logger.notice("environment expired", metadata: ["env": "\(id)"])
            await terminateMembers(of: id, by: "lifetime", reason: .expired, overridingLock: true)
            await eventLog?.record(
                kind: "env.expired",
                subject: id,
                message: "environment \(id) of \(environment.owner) expired; its VMs were terminated",
                actor: "lifetime"
            )
        }
    }

    /// On load: an environment still `creating` was cut off by a stop; it is undone, as a
    /// create that failed.
    func undoInterruptedCreates() async {
        for environment in environments.values where environment.state == "creating" {
            _ = await settleEnvironment(
                id: environment.id,
                failure: "the control plane stopped before every VM had started"
            )
        }
    }

    // MARK: helpers

    func members(of id: String) -> [InstanceRow] {
        instances.all.filter { $0.envId == id }
    }

    func environmentRecord(id: String, members known: [InstanceRow]? = nil) throws -> EnvironmentRecord {
        guard let environment = environments[id] else { throw ControlPlaneError.notFound("No such environment \(id)") }
        var record = EnvironmentRecord()
        record.id = environment.id
        record.owner = environment.owner
        record.createdBy = environment.createdBy
        record.state = environment.state
        record.message = environment.message
        record.lifetimeSeconds = Int(environment.lifetimeSeconds)
        record.expiresAtMicros = Int(environment.expiresAt)
        record.createdAtMicros = Int(environment.createdAt)
        record.endedAtMicros = Int(environment.endedAt)
        record.sshKeys = environment.sshKeys.isEmpty ? [] : environment.sshKeys.split(separator: "\n").map(String.init)
        record.members = (known ?? members(of: id)).map(InstanceRecord.init)
        return record
    }

    private func ownedEnvironment(_ id: String, scope: EnvironmentScope) throws -> EnvironmentRow {
        guard !id.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        // Another owner's environment is "no such" to a caller who may only see their own.
        guard let environment = environments[id], scope.covers(owner: environment.owner) else {
            throw ControlPlaneError.notFound("No such environment \(id)")
        }
        return environment
    }

    /// Ends an environment in memory and journals it (one synchronous step).
    private func endEnvironment(_ id: String, state: String, message: String, now: Int64) {
        guard var environment = environments[id] else { return }
        environment.state = state
        environment.message = message
        environment.endedAt = now
        environments[id] = environment
        journal.append(.environment(environment))
    }

    /// Terminates every member not ended yet. A member that cannot be terminated now is
    /// logged; it ends with its node.
    private func terminateMembers(
        of id: String,
        by actor: String,
        reason: InstanceStopReason,
        overridingLock: Bool = true
    ) async {
        for member in members(of: id) where member.state != "Terminated" && member.state != "Terminating" {
            do {
                try await terminateInstance(id: member.id, by: actor, reason: reason, overridingLock: overridingLock)
            } catch {
                logger.warning(
                    "could not terminate an environment's member",
                    metadata: ["env": "\(id)", "instance": "\(member.id)", "error": "\(error)"]
                )
            }
        }
    }

    /// The start request of one member: its template by id or name, its sizes, the
    /// environment's SSH keys, and its ports (22 always) as tunnel targets.
    private func memberStart(
        _ member: EnvironmentMemberSpec,
        index: Int,
        request: CreateEnvironmentRequest,
        templatesByName: [String: String]
    ) async throws -> StartInstancesRequest {
        guard !member.template.isEmpty else {
            throw ControlPlaneError.badRequest("vms[\(index)]: template is required")
        }
        var templateID = member.template
        if try await database.template(id: member.template) == nil {
            guard let named = templatesByName[member.template] else {
                throw ControlPlaneError.notFound("vms[\(index)]: No such template \(member.template)")
            }
            templateID = named
        }
        var start = StartInstancesRequest()
        start.templateID = templateID
        start.tag = member.tag.isEmpty ? nil : member.tag
        start.vcpu = member.vcpu
        start.vramMB = member.ramMB
        start.name = member.name.isEmpty ? "\(request.id)-\(index)" : member.name
        start.options.sshKeys = request.sshKeys
        var ports = [22]
        for port in member.ports where !ports.contains(port) {
            guard (1...65_535).contains(port) else {
                throw ControlPlaneError.badRequest("vms[\(index)]: port \(port) is not a TCP port")
            }
            ports.append(port)
        }
        start.options.portForwarding = ports.map {
            PortForward(guestPort: $0, hostPort: 0, proto: "tcp", name: $0 == 22 ? "ssh" : "port-\($0)")
        }
        return start
    }

    /// An environment id: 1–64 letters, digits, `-`, `_` and `.`, beginning with a letter
    /// or digit, as it appears in paths (never `.` or `..`).
    static func checkEnvironmentID(_ id: String) throws {
        let alphanumeric = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".unicodeScalars)
        let allowed = alphanumeric.union("-_.".unicodeScalars)
        guard let first = id.unicodeScalars.first, alphanumeric.contains(first), id.utf8.count <= 64,
            id.unicodeScalars.allSatisfy({ allowed.contains($0) })
        else {
            throw ControlPlaneError.badRequest(
                "id must be 1 to 64 letters, digits, '-', '_' or '.', beginning with a letter or digit"
            )
        }
    }
}
