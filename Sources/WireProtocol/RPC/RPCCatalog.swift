/// Every gateway RPC, each declared once.
///
/// The control plane's dispatch table, the gateway's typed calls, the permission check,
/// the audit log and the method table in `docs/PROTOCOL.md` all follow from these
/// declarations. A new method gets a new number and an entry in ``all``; tests check that
/// numbers are unique, that the control plane handles exactly these methods, and that the
/// protocol document shows this table.
public enum RPCCatalog {
    // MARK: Controller
    public static let status = RPC<Empty, ControllerStatus>(1, "status", .authenticated)

    // MARK: Instances
    public static let startInstances = RPC<StartInstancesRequest, IDList>(
        10,
        "startInstances",
        .controller("start_vm"),
        audited: true,
        "answers once the new instances are durable"
    )
    public static let listInstances = RPC<InstanceQuery, InstanceList>(
        11,
        "listInstances",
        .controller("list_vms"),
        "one instance by id, all in one answer (limit 0, the form older gateways send as IDQuery), "
            + "or a page oldest first; `next` is 0 on the last page, and a page ends before 1 MiB"
    )
    public static let terminateInstance = RPC<IDQuery, Empty>(
        12,
        "terminateInstance",
        .controller("terminate_vm"),
        audited: true
    )
    public static let updateInstance = RPC<UpdateInstanceRequest, Empty>(
        13,
        "updateInstance",
        .controller("update_vm"),
        audited: true
    )
    public static let restartInstance = RPC<IDQuery, Empty>(
        14,
        "restartInstance",
        .controller("start_vm"),
        audited: true,
        "`conflict` unless Started or Stopped"
    )
    public static let waitInstance = RPC<WaitInstanceRequest, WaitInstanceResult>(
        15,
        "waitInstance",
        .controller("list_vms"),
        "answers when the instance reaches a state, ends, or the timeout (at most 600 s) passes"
    )
    public static let listEvents = RPC<EventQuery, EventList>(16, "listEvents", .controller("view_logs"))
    public static let instanceLog = RPC<LogRequest, LogChunk>(
        17,
        "instanceLog",
        .controller("view_logs"),
        "requestID unused; `notFound` when the node has no log, `unavailable` when the node is offline "
            + "or does not answer in 10 s"
    )
    public static let searchInstances = RPC<InstanceSearch, SearchPage<InstanceRecord>>(
        18,
        "searchInstances",
        .controller("list_vms"),
        "a page of the instances that match, sorted, with the matching and total counts (the dashboard's list)"
    )
    public static let instanceHistory = RPC<IDQuery, InstanceHistory>(
        86,
        "instanceHistory",
        .controller("list_vms"),
        "the instance's transitions, oldest first"
    )

    // MARK: Nodes
    public static let listNodes = RPC<IDQuery, NodeList>(
        20,
        "listNodes",
        .controller("list_nodes"),
        "empty id = all; filtered by resource permission `list`"
    )
    public static let deleteNode = RPC<IDQuery, Empty>(
        21,
        "deleteNode",
        .controller("delete_node"),
        audited: true,
        "resource permission `remove`"
    )
    public static let configureNode = RPC<NodeConfigRequest, Empty>(
        22,
        "configureNode",
        .controller("change_node_config"),
        audited: true,
        "resource permission `change_config`"
    )
    public static let updateNodeAgents = RPC<Empty, IDList>(
        23,
        "updateNodeAgents",
        .controller("change_node_config"),
        audited: true,
        "the nodes an updateAgent command was queued for (those with resource permission `force_upgrade`)"
    )

    public static let searchNodes = RPC<NodeSearch, SearchPage<NodeRecord>>(
        24,
        "searchNodes",
        .controller("list_nodes"),
        "a page of the nodes that match, sorted, among those with resource permission `list`; "
            + "with the matching and total counts (the dashboard's list)"
    )

    // MARK: Join tokens
    public static let createJoinTokens = RPC<JoinTokenCreateRequest, JoinTokensCreated>(
        25,
        "createJoinTokens",
        .controller("create_join_token"),
        audited: true,
        "1 … 1000 single-use tokens, each valid 60 s … 30 days; the secrets are in this answer only"
    )
    public static let listJoinTokens = RPC<Empty, JoinTokenList>(
        26,
        "listJoinTokens",
        .controller("list_join_tokens"),
        "every token, newest first, with its state; never a secret"
    )
    public static let revokeJoinToken = RPC<IDQuery, JoinTokenRecord>(
        27,
        "revokeJoinToken",
        .controller("revoke_join_token"),
        audited: true,
        "`notFound` for an unknown id, `conflict` for a token already used; revoking again changes nothing"
    )

    // MARK: Node groups
    public static let createGroup = RPC<GroupRecord, GroupRecord>(
        30,
        "createGroup",
        .controller("create_group"),
        audited: true,
        "answers the group with its id"
    )
    public static let listGroups = RPC<Empty, GroupList>(31, "listGroups", .controller("get_groups"))
    public static let updateGroup = RPC<GroupUpdateRequest, Empty>(
        32,
        "updateGroup",
        .controller("update_group"),
        audited: true,
        "`\"\"` clears the fallback; `conflict` for a fallback cycle"
    )
    public static let deleteGroup = RPC<IDQuery, Empty>(33, "deleteGroup", .controller("delete_group"), audited: true)
    public static let addNodesToGroups = RPC<NodeGroupsRequest, Empty>(
        34,
        "addNodesToGroups",
        .controller("add_node_to_group"),
        audited: true
    )
    public static let removeNodesFromGroups = RPC<NodeGroupsRequest, Empty>(
        35,
        "removeNodesFromGroups",
        .controller("remove_group_from_node"),
        audited: true
    )

    // MARK: API keys and TAP
    public static let createAPIKey = RPC<APIKeyCreateRequest, APIKeyCreated>(
        40,
        "createAPIKey",
        .controller("create_api_key"),
        audited: true,
        "the private key only when generated; the caller must hold every group it hands out"
    )
    public static let listAPIKeys = RPC<IDQuery, APIKeyList>(41, "listAPIKeys", .controller("get_api_key"))
    public static let updateAPIKey = RPC<APIKeyUpdateRequest, Empty>(
        42,
        "updateAPIKey",
        .controller("update_api_key"),
        audited: true,
        "the caller must hold every group it hands out"
    )
    public static let deleteAPIKey = RPC<IDQuery, Empty>(
        43,
        "deleteAPIKey",
        .controller("delete_api_key"),
        audited: true
    )
    public static let tapHand = RPC<IDQuery, TAPChallenge>(44, "tapHand", .none, "IDQuery carries the key id")
    public static let tapShake = RPC<TAPShakeRequest, TAPSession>(45, "tapShake", .none)

    // MARK: Permission groups
    public static let listPermissionGroups = RPC<IDQuery, PermissionGroupList>(
        50,
        "listPermissionGroups",
        .controller("view_prmission_groups"),
        "IDQuery carries a group name; empty = all"
    )
    public static let createPermissionGroup = RPC<PermissionGroupRecord, Empty>(
        51,
        "createPermissionGroup",
        .controller("update_permission_groups"),
        audited: true,
        "no resources; `conflict` if the name exists; the caller must hold every permission it grants"
    )
    public static let updatePermissionGroup = RPC<PermissionGroupUpdate, Empty>(
        52,
        "updatePermissionGroup",
        .controller("update_permission_groups"),
        audited: true,
        "the caller must hold every permission it grants"
    )
    public static let deletePermissionGroup = RPC<IDQuery, Empty>(
        53,
        "deletePermissionGroup",
        .controller("delete_permission_groups"),
        audited: true
    )
    public static let listGroupResources = RPC<IDQuery, GroupResources>(
        54,
        "listGroupResources",
        .controller("view_prmission_groups")
    )
    public static let setGroupResources = RPC<GroupResources, Empty>(
        55,
        "setGroupResources",
        .controller("update_permission_groups"),
        audited: true,
        "listed resources are replaced, empty permissions remove one; the caller must hold every grant it hands out"
    )
    public static let permissionCatalogue = RPC<Empty, PermissionCatalogue>(
        56,
        "permissionCatalogue",
        .controller("view_permissions")
    )

    // MARK: MAC addresses
    public static let listMACs = RPC<MACQuery, MACList>(
        60,
        "listMACs",
        .controller("mac_address"),
        "count, in-use count, or a page (limit > 0, `last` to page)"
    )
    public static let populateMACs = RPC<Empty, MACList>(
        61,
        "populateMACs",
        .controller("mac_address"),
        audited: true,
        "total = addresses added"
    )
    public static let purgeMACs = RPC<Empty, MACList>(
        62,
        "purgeMACs",
        .controller("mac_address"),
        audited: true,
        "total = addresses kept because in use"
    )

    // MARK: Registry
    public static let listTemplates = RPC<IDQuery, TemplateList>(
        70,
        "listTemplates",
        .controller("registry_list"),
        "empty id = all; versions newest first"
    )
    public static let deleteTemplate = RPC<IDQuery, Empty>(
        71,
        "deleteTemplate",
        .controller("registry_delete"),
        audited: true,
        "`conflict` while instances that are not terminated use it"
    )
    public static let revertTemplate = RPC<RevertTemplateRequest, IDList>(
        72,
        "revertTemplate",
        .controller("registry_delete"),
        audited: true,
        "the deleted versions' tags; `conflict` for the last version"
    )
    public static let putChunk = RPC<ChunkData, ChunkList>(
        73,
        "putChunk",
        .controller("registry_push"),
        "data ≤ 4 MiB − 4 KiB; answers the stored chunk's hash"
    )
    public static let missingChunks = RPC<ChunkList, ChunkList>(
        74,
        "missingChunks",
        .controller("registry_push"),
        "the hashes not stored"
    )
    public static let commitTemplateVersion = RPC<CommitVersionRequest, TemplateRecord>(
        75,
        "commitTemplateVersion",
        .controller("registry_push"),
        audited: true,
        "the template with its new version; `conflict` for a tag that exists or a chunk not stored"
    )
    public static let distributeTemplate = RPC<DistributeRequest, IDQuery>(
        76,
        "distributeTemplate",
        .controller("registry_distribute"),
        audited: true,
        "answers the distribution id"
    )
    public static let listDistributions = RPC<IDQuery, DistributionList>(
        77,
        "listDistributions",
        .controller("registry_distribute_status"),
        "empty id = all"
    )
    public static let cancelDistribution = RPC<IDQuery, Empty>(
        78,
        "cancelDistribution",
        .controller("registry_distribute"),
        audited: true
    )
    public static let removeTemplateFromNodes = RPC<RemoveFromNodesRequest, IDList>(
        79,
        "removeTemplateFromNodes",
        .controller("registry_delete"),
        audited: true,
        "empty nodeIDs = every node; answers the nodes asked"
    )
    public static let registryDisk = RPC<Empty, RegistryDisk>(
        80,
        "registryDisk",
        .controller("get_registry_disk_info")
    )
    public static let saveImage = RPC<SaveImageRequest, IDQuery>(
        81,
        "saveImage",
        .controller("save_image"),
        audited: true,
        "answers the request id"
    )
    public static let listImageRequests = RPC<IDQuery, ImageRequestList>(
        82,
        "listImageRequests",
        .controller("list_images"),
        "empty id = all"
    )

    // MARK: Dashboard
    public static let portalSession = RPC<PortalSessionRequest, PortalSessionGrant>(
        83,
        "portalSession",
        .authenticated,
        "a key's new session ending at the TTL (60 … 86400 s) or the key's expiry; for root, a root session "
            + "checked on every later call; for an `oidc` principal without a session, a session holding its name "
            + "and groups, which later calls with that session id get in place of what they claim"
    )
    public static let fleetHistory = RPC<Empty, FleetHistory>(
        84,
        "fleetHistory",
        .controller("list_nodes"),
        "the last hour's samples, oldest first, the last taken now"
    )
    public static let watchFleet = RPC<FleetWatch, FleetWatch>(
        85,
        "watchFleet",
        .authenticated,
        "long poll (≤ 60 s): answers the fleet's event counter once it passes the one sent (-1 = now)"
    )
    public static let endSession = RPC<Empty, Empty>(
        87,
        "endSession",
        .authenticated,
        "the caller's own session ends at once (dashboard logout)"
    )
    public static let portalSecret = RPC<Empty, PortalSecret>(
        88,
        "portalSecret",
        .root,
        "the deployment's 32-byte cookie-signing secret, made once"
    )

    public static let createAccessToken = RPC<AccessTokenRequest, AccessTokenGrant>(
        89,
        "createAccessToken",
        .controller("connect_vm"),
        audited: true,
        "a token that opens tunnels to that one running instance, and nothing else, until it expires "
            + "(60 … 86400 s)"
    )

    public static let instanceMetrics = RPC<IDQuery, InstanceMetricsList>(
        90,
        "instanceMetrics",
        .controller("list_vms"),
        "CPU, memory, uptime and restarts of one instance, or (empty id) of every instance not Terminated, "
            + "from its node's last heartbeat"
    )

    public static let createEnvironment = RPC<CreateEnvironmentRequest, EnvironmentRecord>(
        91,
        "createEnvironment",
        .controller("manage_own_envs"),
        audited: true,
        "for another owner `manage_envs` (which includes `manage_own_envs`); answers once every member is Started, or, when one "
            + "fails or the placement timeout passes, terminates them all and answers `conflict`"
    )
    public static let listEnvironments = RPC<IDQuery, EnvironmentList>(
        92,
        "listEnvironments",
        .controller("manage_own_envs"),
        "one (id) or all the caller may see: its own, or every one with `manage_envs`; another's is `notFound`"
    )
    public static let deleteEnvironment = RPC<IDQuery, Empty>(
        93,
        "deleteEnvironment",
        .controller("manage_own_envs"),
        audited: true,
        "terminates every member; `conflict` while a member has a delete lock"
    )
    public static let extendEnvironment = RPC<ExtendEnvironmentRequest, EnvironmentRecord>(
        94,
        "extendEnvironment",
        .controller("manage_own_envs"),
        audited: true,
        "moves the deadline later by 1 … 2592000 s"
    )
    public static let stopEnvironment = RPC<IDQuery, Empty>(
        95,
        "stopEnvironment",
        .controller("manage_own_envs"),
        audited: true,
        "stops every Started member's VM, keeping it"
    )
    public static let startEnvironment = RPC<IDQuery, Empty>(
        96,
        "startEnvironment",
        .controller("manage_own_envs"),
        audited: true,
        "starts every Stopped member's VM again"
    )

    /// Every method.
    public static let all: [RPCDescriptor] = [
        status.descriptor,
        startInstances.descriptor, listInstances.descriptor, terminateInstance.descriptor,
        updateInstance.descriptor, restartInstance.descriptor, waitInstance.descriptor, listEvents.descriptor,
        instanceLog.descriptor, searchInstances.descriptor,
        listNodes.descriptor, deleteNode.descriptor, configureNode.descriptor, updateNodeAgents.descriptor,
        searchNodes.descriptor,
        createJoinTokens.descriptor, listJoinTokens.descriptor, revokeJoinToken.descriptor,
        createGroup.descriptor, listGroups.descriptor, updateGroup.descriptor, deleteGroup.descriptor,
        addNodesToGroups.descriptor, removeNodesFromGroups.descriptor,
        createAPIKey.descriptor, listAPIKeys.descriptor, updateAPIKey.descriptor, deleteAPIKey.descriptor,
        tapHand.descriptor, tapShake.descriptor,
        listPermissionGroups.descriptor, createPermissionGroup.descriptor, updatePermissionGroup.descriptor,
        deletePermissionGroup.descriptor, listGroupResources.descriptor, setGroupResources.descriptor,
        permissionCatalogue.descriptor,
        listMACs.descriptor, populateMACs.descriptor, purgeMACs.descriptor,
        listTemplates.descriptor, deleteTemplate.descriptor, revertTemplate.descriptor, putChunk.descriptor,
        missingChunks.descriptor, commitTemplateVersion.descriptor, distributeTemplate.descriptor,
        listDistributions.descriptor, cancelDistribution.descriptor, removeTemplateFromNodes.descriptor,
        registryDisk.descriptor, saveImage.descriptor, listImageRequests.descriptor,
        portalSession.descriptor, fleetHistory.descriptor, watchFleet.descriptor, instanceHistory.descriptor,
        endSession.descriptor, portalSecret.descriptor, createAccessToken.descriptor, instanceMetrics.descriptor,
        createEnvironment.descriptor, listEnvironments.descriptor, deleteEnvironment.descriptor,
        extendEnvironment.descriptor, stopEnvironment.descriptor, startEnvironment.descriptor,
    ]

    /// The descriptors by number.
    public static let byMethod: [RPCMethod: RPCDescriptor] = Dictionary(
        all.map { ($0.method, $0) },
        uniquingKeysWith: { first, _ in first }
    )

    /// The method table of `docs/PROTOCOL.md`, as Markdown, by number.
    public static func markdownTable() -> String {
        var lines = [
            "| method | number | request body | response body | needs | audited | notes |",
            "|---|---|---|---|---|---|---|",
        ]
        for rpc in all.sorted(by: { $0.method.rawValue < $1.method.rawValue }) {
            let needs =
                switch rpc.permission {
                case .controller(let name): "`\(name)`"
                default: "\(rpc.permission)"
                }
            lines.append(
                "| \(rpc.name) | \(rpc.method.rawValue) | \(rpc.requestType) | \(rpc.responseType) | \(needs) | "
                    + "\(rpc.audited ? "yes" : "") | \(rpc.summary) |"
            )
        }
        return lines.joined(separator: "\n")
    }
}
