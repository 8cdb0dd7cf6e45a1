import WireProtocol

/// Every permission Berth knows, with the names Anka documents (including its spelling
/// `view_prmission_groups`). The RPCs' permissions in ``RPCCatalog`` name these.
enum PermissionCatalog {
    /// Controller permissions: `(category, name, label)`.
    static let controller: [(category: String, name: String, label: String)] = [
        ("Instances", "list_vms", "List VM instances"),
        ("Instances", "start_vm", "Start and restart VM instances"),
        ("Instances", "terminate_vm", "Terminate VM instances"),
        ("Instances", "update_vm", "Update VM instances (name, external id, metadata)"),
        ("Instances", "connect_vm", "Reach VM instances' ports through the control plane (Berth)"),
        ("Environments", "manage_own_envs", "Create, see and manage one's own environments (Berth)"),
        ("Environments", "manage_envs", "See and manage every environment (Berth)"),
        ("Images", "list_images", "List save-image requests"),
        ("Images", "save_image", "Save an instance as a template image"),
        ("Registry", "get_registry_files", "Download registry files (logs)"),
        ("Registry", "view_logs", "View log files"),
        ("Registry", "get_registry_disk_info", "Get registry disk usage"),
        ("Registry", "registry_list", "List templates in the registry"),
        ("Registry", "registry_delete", "Delete or revert templates in the registry"),
        ("Registry", "registry_distribute", "Distribute templates to nodes"),
        ("Registry", "registry_distribute_status", "Get template distribution status"),
        ("Registry", "registry_push", "Push templates to the registry (Berth)"),
        ("Nodes", "list_nodes", "List nodes"),
        ("Nodes", "delete_node", "Delete nodes"),
        ("Nodes", "change_node_config", "Change node configuration and update node agents"),
        ("Nodes", "create_join_token", "Create join tokens that enroll new nodes (Berth)"),
        ("Nodes", "list_join_tokens", "List join tokens (Berth)"),
        ("Nodes", "revoke_join_token", "Revoke unused join tokens (Berth)"),
        ("Node groups", "create_group", "Create node groups"),
        ("Node groups", "get_groups", "List node groups"),
        ("Node groups", "delete_group", "Delete node groups"),
        ("Node groups", "update_group", "Update node groups"),
        ("Node groups", "add_node_to_group", "Add nodes to node groups"),
        ("Node groups", "remove_group_from_node", "Remove nodes from node groups"),
        ("Configuration", "change_config", "Change controller configuration"),
        ("Configuration", "get_config", "Get controller configuration"),
        ("Permissions", "view_permissions", "View the permission catalogue"),
        ("Permissions", "view_prmission_groups", "View permission groups and their resources"),
        ("Permissions", "update_permission_groups", "Create and update permission groups and their resources"),
        ("Permissions", "delete_permission_groups", "Delete permission groups"),
        ("MAC addresses", "mac_address", "Manage the MAC address pool"),
        ("API keys", "create_api_key", "Create API keys"),
        ("API keys", "delete_api_key", "Delete API keys"),
        ("API keys", "get_api_key", "List API keys"),
        ("API keys", "update_api_key", "Update API keys"),
    ]

    /// Resource permissions per resource type: `(name, label, description)`, as Anka lists them.
    static let resources: [(type: String, permissions: [(name: String, label: String, description: String)])] = [
        (
            "node",
            [
                ("change_config", "Change Node Configuration", "Change Node Configuration"),
                ("create_instance", "Create Instance", "Create Instance"),
                ("delete_template", "Delete Template from Node", "Delete Template from Node"),
                ("distribute", "Distribute Template to Node", "Distribute Template to Node"),
                ("force_upgrade", "Force Node Upgrade", "Force Node Upgrade"),
                ("list", "List Node", "List Node"),
                ("remove", "Remove Node", "Remove Node"),
            ]
        ),
        (
            "template",
            [
                ("delete_revert", "Delete and/or Revert Template", "Delete and/or Revert Template"),
                ("get_config", "Get Template Configuration", "Get Template Configuration"),
                ("list", "List Template", "List Template"),
                ("pull", "Pull Template", "Pull Template"),
                ("push_tag", "Push Template Tag", "Push Template Tag"),
                ("save_image", "Save Image Target", "Target Template for Save Image"),
                ("set_arch", "Set Template Architecture", "Set Template Architecture"),
            ]
        ),
    ]

    static let controllerNames: Set<String> = Set(controller.map(\.name))

    static func resourcePermissionNames(type: String) -> Set<String>? {
        resources.first { $0.type == type }.map { Set($0.permissions.map(\.name)) }
    }

    /// The catalogue as the RPC answer.
    static var wireCatalogue: PermissionCatalogue {
        PermissionCatalogue(
            entries: controller.map {
                PermissionDescription(
                    scope: "controller",
                    category: $0.category,
                    name: $0.name,
                    label: $0.label,
                    description: $0.label
                )
            }
                + resources.flatMap { resource in
                    resource.permissions.map {
                        PermissionDescription(
                            scope: resource.type,
                            name: $0.name,
                            label: $0.label,
                            description: $0.description
                        )
                    }
                }
        )
    }
}
