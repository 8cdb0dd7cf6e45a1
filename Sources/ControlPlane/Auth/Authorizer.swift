import WireProtocol

/// Decides whether a principal may make a call, from permission groups and the
/// control plane's settings. Root (and an unauthenticated dev setup) may do everything.
struct Authorizer: Sendable {
    let store: PermissionStore
    /// Controller permissions are checked.
    let enabled: Bool
    /// Resource permissions on nodes and templates are checked too.
    let resourceManagement: Bool

    init(store: PermissionStore, configuration: ControlPlaneConfiguration) {
        self.store = store
        self.enabled = configuration.authorization
        self.resourceManagement = configuration.authorization && configuration.resourceManagement
    }

    /// The names whose permissions a principal has: its groups, and its own name
    /// (Anka lets operators grant to a user name as well as to a group).
    static func subjects(of principal: Principal) -> [String] {
        principal.name.isEmpty ? principal.groups : principal.groups + [principal.name]
    }

    /// Root may do everything. (Anonymous callers only reach past ``authorize(_:for:)`` when
    /// authorization is off.)
    static func isUnrestricted(_ principal: Principal) -> Bool {
        principal.kind == .root || principal.kind == .anonymous
    }

    /// Throws `forbidden`, naming the permission, when the principal may not call the method
    /// `rpc` describes.
    func authorize(_ principal: Principal, for rpc: RPCDescriptor) async throws {
        guard enabled, principal.kind != .root else { return }
        // A gateway running without authentication cannot bypass the control plane's checks.
        if principal.kind == .anonymous && rpc.permission != .none {
            throw ControlPlaneError(.unauthenticated, "Authentication Required")
        }
        switch rpc.permission {
        case .none, .authenticated:
            return
        case .root:
            throw ControlPlaneError(.forbidden, "Permission denied: \(rpc.name) needs the root token")
        case .controller(let name):
            try await requireController(principal, name)
        }
    }

    /// Throws `forbidden`, naming it, unless the principal holds the controller permission
    /// `name` (root and everyone, with authorization off, hold every one).
    func requireController(_ principal: Principal, _ name: String) async throws {
        guard enabled, principal.kind != .root else { return }
        if principal.kind == .anonymous { throw ControlPlaneError(.unauthenticated, "Authentication Required") }
        let held = await store.controllerPermissions(of: Self.subjects(of: principal))
        // Managing every environment includes managing one's own.
        guard held.contains(name) || (name == "manage_own_envs" && held.contains("manage_envs")) else {
            throw ControlPlaneError(.forbidden, "Permission denied: missing permission \(name)")
        }
    }

    /// Which environments a principal may see and manage: every one (`manage_envs`, root,
    /// or authorization off), or those it owns (`manage_own_envs`); `forbidden` otherwise.
    func environmentScope(_ principal: Principal) async throws -> EnvironmentScope {
        guard enabled, principal.kind != .root else { return .all }
        if principal.kind == .anonymous { throw ControlPlaneError(.unauthenticated, "Authentication Required") }
        let held = await store.controllerPermissions(of: Self.subjects(of: principal))
        if held.contains("manage_envs") { return .all }
        if held.contains("manage_own_envs") { return .own(RPCDispatcher.actor(principal)) }
        throw ControlPlaneError(.forbidden, "Permission denied: missing permission manage_own_envs")
    }

    // MARK: Grants: a caller hands out only what it holds

    /// Throws `forbidden` unless the principal may give a key `groups` and the name `keyID`.
    ///
    /// A key's rights are those of its groups and of its own id (a user name can be granted
    /// to like a group). So a caller other than root may only hand out groups it belongs to
    /// itself, and may not name a key after a permission group it does not hold.
    func authorizeGrant(groups: [String], keyID: String, by principal: Principal) async throws {
        guard enabled, !Self.isUnrestricted(principal) else { return }
        let held = Set(Self.subjects(of: principal))
        try Self.refuseUnheld("hand out group", Set(groups).subtracting(held))
        if !held.contains(keyID), await store.exists(keyID) {
            throw ControlPlaneError(
                .forbidden,
                "Permission denied: cannot name a key after permission group \(keyID) without holding it"
            )
        }
    }

    /// Throws `forbidden` unless the principal holds every controller permission in `permissions`.
    func authorizeGrant(permissions: [String], by principal: Principal) async throws {
        guard enabled, !Self.isUnrestricted(principal) else { return }
        let held = await store.controllerPermissions(of: Self.subjects(of: principal))
        try Self.refuseUnheld("grant permission", Set(permissions).subtracting(held))
    }

    /// Throws `forbidden` naming `missing`, unless it is empty.
    private static func refuseUnheld(_ action: String, _ missing: Set<String>) throws {
        guard !missing.isEmpty else { return }
        let one = missing.count == 1
        throw ControlPlaneError(
            .forbidden,
            "Permission denied: cannot \(action)\(one ? "" : "s") \(missing.sorted().joined(separator: ", ")) "
                + "without holding \(one ? "it" : "them")"
        )
    }

    /// Throws `forbidden` unless the principal holds every resource permission it grants.
    func authorizeGrant(resources: [ResourceGrant], by principal: Principal) async throws {
        guard enabled, !Self.isUnrestricted(principal) else { return }
        let subjects = Self.subjects(of: principal)
        for grant in resources {
            for permission in grant.permissions.sorted() {
                guard await store.grants(subjects, type: grant.type, id: grant.id, permission: permission) else {
                    throw ControlPlaneError(
                        .forbidden,
                        "Permission denied: cannot grant resource permission \(permission) on \(grant.type) "
                            + "\(grant.id) without holding it"
                    )
                }
            }
        }
    }

    /// The resources of `type` the principal may act on with `permission`; `nil` for all.
    func permittedResources(_ principal: Principal, type: String, permission: String) async -> Set<String>? {
        guard resourceManagement, !Self.isUnrestricted(principal) else { return nil }
        return await store.resourceIDs(Self.subjects(of: principal), type: type, permission: permission)
    }

    /// Throws `forbidden` unless the principal holds `permission` on the resource.
    func requireResource(_ principal: Principal, type: String, id: String, permission: String) async throws {
        guard resourceManagement, !Self.isUnrestricted(principal) else { return }
        guard await store.grants(Self.subjects(of: principal), type: type, id: id, permission: permission) else {
            throw ControlPlaneError(
                .forbidden,
                "Permission denied: missing resource permission \(permission) on \(type) \(id)"
            )
        }
    }

    /// Checks a start against resource management. Placement is limited later, on every
    /// scheduling pass, to the nodes the group then holds `create_instance` on.
    ///
    /// With resource management on, a start names a permission group (`group`) that the
    /// caller belongs to; that group must hold `pull` on the template and `create_instance`
    /// on at least one node, and node groups (`group_id`) are disabled.
    func authorizeStart(_ principal: Principal, _ request: StartInstancesRequest) async throws {
        guard resourceManagement else { return }
        let group = request.permissionGroup
        guard !group.isEmpty else {
            throw ControlPlaneError.badRequest("group is required while resource management is enabled")
        }
        guard request.groupID.isEmpty else {
            throw ControlPlaneError.badRequest("group_id is disabled while resource management is enabled; use group")
        }
        guard Self.isUnrestricted(principal) || Self.subjects(of: principal).contains(group) else {
            throw ControlPlaneError(.forbidden, "Permission denied: not a member of permission group \(group)")
        }
        guard await store.grants([group], type: "template", id: request.templateID, permission: "pull") else {
            throw ControlPlaneError(
                .forbidden,
                "Permission denied: permission group \(group) lacks resource permission pull on template \(request.templateID)"
            )
        }
        let nodes = await store.resourceIDs([group], type: "node", permission: "create_instance")
        guard !nodes.isEmpty else {
            throw ControlPlaneError(
                .forbidden,
                "Permission denied: permission group \(group) has resource permission create_instance on no node"
            )
        }
        if !request.nodeID.isEmpty, !nodes.contains(request.nodeID) {
            throw ControlPlaneError(
                .forbidden,
                "Permission denied: permission group \(group) lacks resource permission create_instance on node \(request.nodeID)"
            )
        }
    }
}

/// The environments a caller may see and manage (``Authorizer/environmentScope(_:)``).
enum EnvironmentScope: Equatable {
    case all
    /// Those whose owner is this name.
    case own(String)

    func covers(owner: String) -> Bool {
        switch self {
        case .all: true
        case .own(let name): owner == name
        }
    }
}
