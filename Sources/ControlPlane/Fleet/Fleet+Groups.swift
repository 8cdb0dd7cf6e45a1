import Foundation
import Persistence
import WireProtocol

extension Fleet {
    /// Creates a node group and returns it with its new id, once it is durable.
    func createGroup(_ request: GroupRecord) async throws -> GroupRecord {
        let name = request.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw ControlPlaneError.badRequest("name is required") }
        let fallback = request.fallbackGroupID.flatMap { $0.isEmpty ? nil : $0 }
        let row = NodeGroupRow(
            id: RandomID.uuid(),
            name: name,
            description: request.description,
            fallbackGroupId: fallback,
            createdAt: BerthDatabase.nowMicros()
        )
        try checkGroup(row)
        groups.put(row)
        try await journal.durable(journal.append(.group(row)))
        return GroupRecord(row)
    }

    func listGroups() -> [GroupRecord] {
        groups.sorted.map(GroupRecord.init)
    }

    /// Changes a group's name, description or fallback (refusing a fallback cycle).
    func updateGroup(_ request: GroupUpdateRequest) async throws {
        guard var row = groups[request.id] else { throw ControlPlaneError.notFound("No such group \(request.id)") }
        if let name = request.name {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { throw ControlPlaneError.badRequest("name must not be empty") }
            row.name = trimmed
        }
        if let description = request.description { row.description = description }
        if let fallback = request.fallbackGroupID {
            row.fallbackGroupId = fallback.isEmpty ? nil : fallback
        }
        try checkGroup(row)
        if let fallback = row.fallbackGroupId {
            var next: String? = fallback
            var seen: Set<String> = [row.id]
            while let id = next {
                if seen.contains(id) {
                    throw ControlPlaneError(.conflict, "fallback group \(fallback) would make a cycle back to \(row.name)")
                }
                seen.insert(id)
                next = groups[id]?.fallbackGroupId
            }
        }
        groups.put(row)
        let ticket = journal.append(.group(row))
        requestScheduling()
        try await journal.durable(ticket)
    }

    func deleteGroup(id: String) async throws {
        guard groups[id] != nil else { throw ControlPlaneError.notFound("No such group \(id)") }
        groups.remove(id)
        let ticket = journal.append(.groupDeleted(id: id))
        requestScheduling()
        try await journal.durable(ticket)
    }

    /// Adds nodes to groups (`member`) or removes them.
    func setMembership(_ request: NodeGroupsRequest, member: Bool) async throws {
        guard !request.nodeIDs.isEmpty else { throw ControlPlaneError.badRequest("node_ids is required") }
        guard !request.groupIDs.isEmpty else { throw ControlPlaneError.badRequest("group_ids is required") }
        for id in request.nodeIDs where nodes[id] == nil { throw ControlPlaneError.notFound("no node with id \(id)") }
        for id in request.groupIDs where groups[id] == nil {
            throw ControlPlaneError.notFound("no group with id \(id)")
        }
        groups.setMembership(nodeIDs: request.nodeIDs, groupIDs: request.groupIDs, member: member)
        let ticket = journal.append(.membership(nodeIDs: request.nodeIDs, groupIDs: request.groupIDs, member: member))
        requestScheduling()
        try await journal.durable(ticket)
    }

    /// The rules storage enforces, checked in memory first: a unique name and an existing fallback.
    private func checkGroup(_ row: NodeGroupRow) throws {
        if let taken = groups.named(row.name, other: row.id) {
            throw ControlPlaneError(.conflict, "a group named \(taken.name) already exists (\(taken.id))")
        }
        if let fallback = row.fallbackGroupId, groups[fallback] == nil {
            throw ControlPlaneError.notFound("no group with id \(fallback)")
        }
    }

    /// A group followed by its fallbacks, stopping at a missing group or a repeat.
    static func groupChain(from id: String, groups: GroupTable) -> [SchedulerGroup] {
        var chain: [SchedulerGroup] = []
        var seen: Set<String> = []
        var next: String? = id
        while let current = next, !seen.contains(current) {
            seen.insert(current)
            chain.append(SchedulerGroup(id: current, name: groups[current]?.name ?? current))
            next = groups[current]?.fallbackGroupId
        }
        return chain
    }
}

extension GroupRecord {
    init(_ row: NodeGroupRow) {
        self.init(id: row.id, name: row.name, description: row.description, fallbackGroupID: row.fallbackGroupId)
    }
}
