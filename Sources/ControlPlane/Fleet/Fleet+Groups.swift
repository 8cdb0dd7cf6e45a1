import Foundation
import Persistence
import WireProtocol

extension Fleet {
    /// Creates a node group and returns it with its new id.
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
        try await saveGroup(row, creating: true)
        return GroupRecord(row)
    }

    func listGroups() async throws -> [GroupRecord] {
        try await database.groups().map(GroupRecord.init)
    }

    /// Changes a group's name, description or fallback (refusing a fallback cycle).
    func updateGroup(_ request: GroupUpdateRequest) async throws {
        guard var row = try await database.group(id: request.id) else {
            throw ControlPlaneError.notFound("No such group \(request.id)")
        }
        if let name = request.name {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { throw ControlPlaneError.badRequest("name must not be empty") }
            row.name = trimmed
        }
        if let description = request.description { row.description = description }
        if let fallback = request.fallbackGroupID {
            row.fallbackGroupId = fallback.isEmpty ? nil : fallback
        }
        if let fallback = row.fallbackGroupId {
            let groups = Dictionary(uniqueKeysWithValues: try await database.groups().map { ($0.id, $0) })
            var next: String? = fallback
            var seen: Set<String> = [row.id]
            while let id = next {
                if seen.contains(id) {
                    throw ControlPlaneError(
                        .conflict,
                        "fallback group \(fallback) would make a cycle back to \(row.name)"
                    )
                }
                seen.insert(id)
                next = groups[id]?.fallbackGroupId
            }
        }
        try await saveGroup(row, creating: false)
        requestScheduling()
    }

    func deleteGroup(id: String) async throws {
        do {
            try await database.deleteGroup(id: id)
        } catch let error as PersistenceError where error.code == .notFound {
            throw ControlPlaneError.notFound("No such group \(id)")
        }
        requestScheduling()
    }

    /// Adds nodes to groups (`member`) or removes them.
    func setMembership(_ request: NodeGroupsRequest, member: Bool) async throws {
        guard !request.nodeIDs.isEmpty else { throw ControlPlaneError.badRequest("node_ids is required") }
        guard !request.groupIDs.isEmpty else { throw ControlPlaneError.badRequest("group_ids is required") }
        do {
            try await database.setMembership(nodeIDs: request.nodeIDs, groupIDs: request.groupIDs, member: member)
        } catch let error as PersistenceError where error.code == .notFound {
            throw ControlPlaneError.notFound(error.reason)
        }
        requestScheduling()
    }

    private func saveGroup(_ row: NodeGroupRow, creating: Bool) async throws {
        do {
            try await database.saveGroup(row, creating: creating)
        } catch let error as PersistenceError {
            switch error.code {
            case .conflict: throw ControlPlaneError(.conflict, error.reason)
            default: throw ControlPlaneError.notFound(error.reason)
            }
        }
    }

    /// A group followed by its fallbacks, stopping at a missing group or a repeat.
    static func groupChain(from id: String, groups: [String: NodeGroupRow]) -> [SchedulerGroup] {
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
