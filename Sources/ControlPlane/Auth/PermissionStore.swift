import Persistence
import WireProtocol

/// Permission groups: their controller permissions and resource grants.
///
/// Held in memory for lookups on every RPC and written through to SQLite. Mutations run one
/// at a time and reload the whole set after committing, so the cache never shows an order of
/// changes the database did not see. A change applies at once to every live session.
actor PermissionStore {
    struct Group: Sendable {
        var record: PermissionGroupRecord
        var permissions: Set<String>
        /// type → resource id → permissions.
        var grants: [String: [String: Set<String>]]
    }

    private let database: BerthDatabase
    private var groups: [String: Group] = [:]
    private var tail: Task<Void, Never>?

    init(database: BerthDatabase) async throws {
        self.database = database
        self.groups = try await Self.read(database)
    }

    // MARK: Lookups

    /// The union of the controller permissions of `subjects` (group names and the user name).
    func controllerPermissions(of subjects: [String]) -> Set<String> {
        subjects.reduce(into: Set<String>()) { $0.formUnion(groups[$1]?.permissions ?? []) }
    }

    /// Whether any of `subjects` holds `permission` on the resource.
    func grants(_ subjects: [String], type: String, id: String, permission: String) -> Bool {
        subjects.contains { groups[$0]?.grants[type]?[id]?.contains(permission) == true }
    }

    /// Ids of the resources of `type` on which any of `subjects` holds `permission`.
    func resourceIDs(_ subjects: [String], type: String, permission: String) -> Set<String> {
        var ids: Set<String> = []
        for subject in subjects {
            for (id, permissions) in groups[subject]?.grants[type] ?? [:] where permissions.contains(permission) {
                ids.insert(id)
            }
        }
        return ids
    }

    func exists(_ name: String) -> Bool { groups[name] != nil }

    /// One group (`name` set) or all of them, by name.
    func list(name: String) throws -> [PermissionGroupRecord] {
        if !name.isEmpty {
            guard let group = groups[name] else {
                throw ControlPlaneError.notFound("No such permission group \(name)")
            }
            return [group.record]
        }
        return groups.values.map(\.record).sorted { $0.name < $1.name }
    }

    /// A group's resource grants; none for a name that has no group yet.
    func resources(of name: String) -> [ResourceGrant] {
        groups[name]?.record.resources ?? []
    }

    // MARK: Changes

    func create(_ record: PermissionGroupRecord) async throws {
        try Self.validate(name: record.name)
        try Self.validate(permissions: record.permissions)
        guard record.resources.isEmpty else {
            throw ControlPlaneError.badRequest("set resources with POST .../permission/group/{name}/resources")
        }
        try await serialized { [database] in
            try await database.insertPermissionGroup(
                PermissionGroupRow(
                    name: record.name,
                    description: record.description,
                    permissions: Self.normalized(record.permissions),
                    createdAt: BerthDatabase.nowMicros()
                )
            )
        }
    }

    func update(_ update: PermissionGroupUpdate) async throws {
        try Self.validate(name: update.name)
        if let permissions = update.permissions { try Self.validate(permissions: permissions) }
        try await serialized { [database] in
            try await database.updatePermissionGroup(
                name: update.name,
                description: update.description,
                permissions: update.permissions.map(Self.normalized),
                createIfMissing: update.createIfMissing,
                now: BerthDatabase.nowMicros()
            )
        }
    }

    func delete(name: String) async throws {
        try await serialized { [database] in try await database.deletePermissionGroup(name: name) }
    }

    /// Sets grants on the listed resources (see ``BerthDatabase/setPermissionResources(groupName:_:now:)``).
    func setResources(_ request: GroupResources) async throws {
        try Self.validate(name: request.group)
        let rows = try request.resources.map { grant -> PermissionResourceRow in
            guard !grant.id.isEmpty else { throw ControlPlaneError.badRequest("every resource needs an id") }
            guard grant.idType == "id" else {
                throw ControlPlaneError.badRequest("unsupported id_type \(grant.idType); use \"id\"")
            }
            guard let known = PermissionCatalog.resourcePermissionNames(type: grant.type) else {
                throw ControlPlaneError.badRequest("unknown resource type \(grant.type); use node or template")
            }
            if let unknown = grant.permissions.first(where: { !known.contains($0) }) {
                throw ControlPlaneError.badRequest("unknown \(grant.type) permission \(unknown)")
            }
            return PermissionResourceRow(
                groupName: request.group,
                type: grant.type,
                resourceId: grant.id,
                idType: grant.idType,
                permissions: Self.normalized(grant.permissions)
            )
        }
        try await serialized { [database] in
            try await database.setPermissionResources(groupName: request.group, rows, now: BerthDatabase.nowMicros())
        }
    }

    // MARK: Internals

    /// Runs `write` after every earlier mutation, then reloads the cache from the database.
    private func serialized(_ write: @escaping @Sendable () async throws -> Void) async throws {
        let previous = tail
        let database = self.database
        let task = Task<[String: Group], any Error> {
            _ = await previous?.value
            do {
                try await write()
            } catch let error as PersistenceError {
                throw ControlPlaneError(error, otherwise: .notFound)
            }
            return try await Self.read(database)
        }
        tail = Task { _ = try? await task.value }
        groups = try await task.value
    }

    private static func read(_ database: BerthDatabase) async throws -> [String: Group] {
        var result: [String: Group] = [:]
        for (row, resources) in try await database.permissionGroups() {
            var grants: [String: [String: Set<String>]] = [:]
            for resource in resources {
                grants[resource.type, default: [:]][resource.resourceId] = Set(resource.permissionNames)
            }
            result[row.name] = Group(
                record: PermissionGroupRecord(
                    name: row.name,
                    description: row.description,
                    permissions: row.permissionNames,
                    resources: resources.map {
                        ResourceGrant(
                            id: $0.resourceId,
                            idType: $0.idType,
                            type: $0.type,
                            permissions: $0.permissionNames
                        )
                    }
                ),
                permissions: Set(row.permissionNames),
                grants: grants
            )
        }
        return result
    }

    static func validate(name: String) throws {
        guard !name.isEmpty else { throw ControlPlaneError.badRequest("a permission group needs a name") }
        guard name.count <= 128, !name.contains(where: \.isNewline), !name.contains("/") else {
            throw ControlPlaneError.badRequest("invalid permission group name \(name)")
        }
    }

    static func validate(permissions: [String]) throws {
        if let unknown = permissions.first(where: { !PermissionCatalog.controllerNames.contains($0) }) {
            throw ControlPlaneError.badRequest("unknown permission \(unknown)")
        }
    }

    /// Sorted and without duplicates, so stored and shown lists are stable.
    static func normalized(_ names: [String]) -> [String] { Array(Set(names)).sorted() }
}
