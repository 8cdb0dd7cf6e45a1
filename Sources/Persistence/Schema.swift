import Foundation
import GRDB

/// The database schema as named, append-only migrations.
///
/// Never edit a shipped migration; add a new one. `migrator` runs on every open, so an
/// empty file becomes a current database and an old one is brought up to date.
enum Schema {
    /// Every column that holds bytes (a `[UInt8]` record field), as (table, column).
    static let binaryColumns: [(String, String)] = [
        ("nodes", "templates"),
        ("instances", "start_options"),
        ("instances", "script_result"),
        ("instances", "vminfo"),
        ("node_commands", "payload"),
        ("join_tokens", "secret_hash"),
        ("api_keys", "public_key"),
        ("image_requests", "request"),
        ("image_requests", "script_result"),
    ]

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-backbone") { db in
            try db.create(table: "nodes") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull().defaults(to: "")
                t.column("state", .text).notNull().defaults(to: "Offline")
                t.column("ip_address", .text).notNull().defaults(to: "")
                t.column("cpu_count", .integer).notNull().defaults(to: 0)
                t.column("ram_mb", .integer).notNull().defaults(to: 0)
                t.column("arch", .text).notNull().defaults(to: "")
                t.column("max_vm_count", .integer).notNull().defaults(to: 2)
                t.column("capacity_mode", .text).notNull().defaults(to: "number")
                t.column("vcpu_override", .integer).notNull().defaults(to: 0)
                t.column("ram_override", .integer).notNull().defaults(to: 0)
                t.column("drain_mode", .boolean).notNull().defaults(to: false)
                t.column("agent_version", .text).notNull().defaults(to: "")
                t.column("templates", .blob)
                t.column("disk_size", .integer).notNull().defaults(to: 0)
                t.column("free_disk", .integer).notNull().defaults(to: 0)
                t.column("cpu_util", .double).notNull().defaults(to: 0)
                t.column("ram_util", .double).notNull().defaults(to: 0)
                t.column("last_seen", .integer).notNull().defaults(to: 0)
                t.column("created_at", .integer).notNull()
                t.column("event_epoch", .integer).notNull().defaults(to: 0)
                t.column("event_seq", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "templates") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull().unique()
                t.column("arch", .text).notNull().defaults(to: "amd64")
                t.column("description", .text).notNull().defaults(to: "")
                t.column("cpu_cores", .integer).notNull().defaults(to: 2)
                t.column("ram_mb", .integer).notNull().defaults(to: 4096)
                t.column("created_at", .integer).notNull()
            }
            try db.create(table: "template_versions") { t in
                t.column("template_id", .text).notNull().references("templates", onDelete: .cascade)
                t.column("number", .integer).notNull()
                t.column("tag", .text).notNull()
                t.column("size", .integer).notNull().defaults(to: 0)
                t.column("created_at", .integer).notNull()
                t.primaryKey(["template_id", "number"])
                t.uniqueKey(["template_id", "tag"])
            }
            try db.create(table: "instances") { t in
                t.primaryKey("id", .text)
                t.column("state", .text).notNull()
                t.column("message", .text).notNull().defaults(to: "")
                t.column("template_id", .text).notNull()
                t.column("template_name", .text).notNull().defaults(to: "")
                t.column("tag", .text).notNull().defaults(to: "")
                t.column("version", .integer).notNull().defaults(to: 0)
                t.column("node_id", .text)
                t.column("target_node_id", .text).notNull().defaults(to: "")
                t.column("inflight_reqid", .text).notNull().defaults(to: "")
                t.column("priority", .integer).notNull().defaults(to: 1000)
                t.column("group_id", .text).notNull().defaults(to: "")
                t.column("name", .text).notNull().defaults(to: "")
                t.column("external_id", .text).notNull().defaults(to: "")
                t.column("metadata", .text).notNull().defaults(to: "")
                t.column("vcpu", .integer).notNull().defaults(to: 0)
                t.column("vram_mb", .integer).notNull().defaults(to: 0)
                t.column("arch", .text).notNull().defaults(to: "")
                t.column("vlan", .text).notNull().defaults(to: "")
                t.column("progress", .double).notNull().defaults(to: 0)
                t.column("vminfo", .blob)
                t.column("wait_reason", .text).notNull().defaults(to: "")
                t.column("cr_time", .integer).notNull()
                t.column("ts", .integer).notNull()
            }
            try db.create(index: "instances_queue", on: "instances", columns: ["state", "priority", "cr_time"])
            try db.create(index: "instances_node", on: "instances", columns: ["node_id"])
            try db.create(table: "instance_transitions") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("instance_id", .text).notNull().indexed()
                t.column("state", .text).notNull()
                t.column("message", .text).notNull().defaults(to: "")
                t.column("ts", .integer).notNull()
            }
            try db.create(table: "node_commands") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("node_id", .text).notNull()
                t.column("instance_id", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("payload", .blob)
                t.column("created_at", .integer).notNull()
                t.column("acked_at", .integer)
            }
            try db.create(index: "node_commands_pending", on: "node_commands", columns: ["node_id", "acked_at"])
            try db.create(table: "join_tokens") { t in
                t.primaryKey("id", .text)
                t.column("secret_hash", .blob).notNull()
                t.column("description", .text).notNull().defaults(to: "")
                t.column("created_at", .integer).notNull()
                t.column("expires_at", .integer).notNull()
                t.column("used_at", .integer)
                t.column("used_by", .text)
            }
            try db.create(table: "certificates") { t in
                t.primaryKey("serial", .text)
                t.column("role", .text).notNull()
                t.column("subject_id", .text).notNull().indexed()
                t.column("issued_at", .integer).notNull()
                t.column("expires_at", .integer).notNull()
                t.column("revoked_at", .integer)
                t.column("revoke_reason", .text)
            }
            try db.create(table: "event_log") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("ts", .integer).notNull().indexed()
                t.column("kind", .text).notNull()
                t.column("subject", .text).notNull().defaults(to: "")
                t.column("message", .text).notNull().defaults(to: "")
            }
        }
        migrator.registerMigration("v2-node-config") { db in
            // Set once an operator configures capacity; a node's hello no longer overrides it.
            try db.alter(table: "nodes") { t in
                t.add(column: "capacity_configured", .boolean).notNull().defaults(to: false)
                t.add(column: "host", .text).notNull().defaults(to: "")
            }
        }
        migrator.registerMigration("v3-node-groups") { db in
            try db.create(table: "node_groups") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull().unique()
                t.column("description", .text).notNull().defaults(to: "")
                t.column("fallback_group_id", .text).references("node_groups", onDelete: .setNull)
                t.column("created_at", .integer).notNull()
            }
            try db.create(table: "node_group_members") { t in
                t.column("node_id", .text).notNull().references("nodes", onDelete: .cascade)
                t.column("group_id", .text).notNull().references("node_groups", onDelete: .cascade)
                t.primaryKey(["node_id", "group_id"])
            }
            try db.create(index: "node_group_members_group", on: "node_group_members", columns: ["group_id"])
        }
        migrator.registerMigration("v4-api-keys") { db in
            try db.create(table: "api_keys") { t in
                t.primaryKey("id", .text)
                // SubjectPublicKeyInfo DER. The private key is never stored.
                t.column("public_key", .blob).notNull()
                // Permission group names, one per line.
                t.column("groups", .text).notNull().defaults(to: "")
                t.column("created_at", .integer).notNull()
                t.column("expires_at", .integer).notNull()
            }
        }
        migrator.registerMigration("v5-permission-groups") { db in
            try db.create(table: "permission_groups") { t in
                t.primaryKey("name", .text)
                t.column("description", .text).notNull().defaults(to: "")
                // Controller permission names, one per line.
                t.column("permissions", .text).notNull().defaults(to: "")
                t.column("created_at", .integer).notNull()
            }
            try db.create(table: "permission_resources") { t in
                t.column("group_name", .text).notNull().references("permission_groups", onDelete: .cascade)
                t.column("type", .text).notNull()
                t.column("resource_id", .text).notNull()
                t.column("id_type", .text).notNull().defaults(to: "id")
                // Resource permission names, one per line.
                t.column("permissions", .text).notNull().defaults(to: "")
                t.primaryKey(["group_name", "type", "resource_id"])
            }
            // The permission group a start named (resource management); limits placement.
            try db.alter(table: "instances") { t in
                t.add(column: "permission_group", .text).notNull().defaults(to: "")
            }
        }
        migrator.registerMigration("v6-start-options") { db in
            try db.alter(table: "instances") { t in
                // Encoded StartOptions of the start request (script, VM knobs), sent to the node.
                t.add(column: "start_options", .blob)
                t.add(column: "mac_address", .text).notNull().defaults(to: "")
            }
        }
        migrator.registerMigration("v7-script-results") { db in
            try db.alter(table: "instances") { t in
                // Encoded ScriptResult of a monitored startup script.
                t.add(column: "script_result", .blob)
            }
        }
        migrator.registerMigration("v8-event-log") { db in
            try db.alter(table: "event_log") { t in
                // Who caused it: a key id, a certificate CN, root, or the controller itself.
                t.add(column: "actor", .text).notNull().defaults(to: "")
            }
            try db.create(index: "event_log_kind", on: "event_log", columns: ["kind"])
            try db.create(index: "event_log_subject", on: "event_log", columns: ["subject"])
            try db.create(table: "settings") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v9-usb-vlan") { db in
            try db.alter(table: "nodes") { t in
                // Reported by the node: VLAN ids one per line; USB devices as "name<TAB>id" lines.
                t.add(column: "vlans", .text).notNull().defaults(to: "")
                t.add(column: "usb_devices", .text).notNull().defaults(to: "")
            }
            try db.alter(table: "instances") { t in
                // The USB device claimed at placement (its id on the node).
                t.add(column: "usb_device_id", .text).notNull().defaults(to: "")
            }
        }
        migrator.registerMigration("v10-mac-pool") { db in
            try db.create(table: "mac_addresses") { t in
                t.primaryKey("value", .integer)  // the 48-bit address as a number, for order and paging
                t.column("mac", .text).notNull().unique()
                t.column("instance_id", .text).indexed()
            }
        }
        migrator.registerMigration("v11-template-content") { db in
            // Content-addressed chunks stored under the data directory's `chunks/`.
            try db.create(table: "chunks") { t in
                t.primaryKey("hash", .blob)
                t.column("size", .integer).notNull()
                t.column("stored_at", .integer).notNull()
            }
            try db.create(table: "template_files") { t in
                t.column("template_id", .text).notNull()
                t.column("number", .integer).notNull()
                t.column("ordinal", .integer).notNull()
                t.column("path", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("chunk_size", .integer).notNull()
                t.column("chunks", .blob).notNull()  // 32-byte SHA-256 hashes, concatenated
                t.primaryKey(["template_id", "number", "path"])
                t.foreignKey(["template_id", "number"], references: "template_versions", onDelete: .cascade)
            }
            try db.alter(table: "template_versions") { t in
                t.add(column: "description", .text).notNull().defaults(to: "")
                t.add(column: "last_pull", .integer).notNull().defaults(to: 0)
                t.add(column: "last_push", .integer).notNull().defaults(to: 0)
            }
            try db.alter(table: "nodes") { t in
                t.add(column: "cache_bytes", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "distributions") { t in
                t.primaryKey("id", .text)
                t.column("template_id", .text).notNull()
                t.column("tag", .text).notNull()
                t.column("requested_at", .integer).notNull()
                t.column("cancelled", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "distribution_nodes") { t in
                t.column("distribution_id", .text).notNull().references("distributions", onDelete: .cascade)
                t.column("node_id", .text).notNull()
                t.column("progress", .double).notNull().defaults(to: 0)
                t.column("done", .boolean).notNull().defaults(to: false)
                t.column("error", .text).notNull().defaults(to: "")
                t.column("bytes_fetched", .integer).notNull().defaults(to: 0)
                t.primaryKey(["distribution_id", "node_id"])
            }
            try db.create(table: "image_requests") { t in
                t.primaryKey("id", .text)
                t.column("instance_id", .text).notNull().indexed()
                t.column("node_id", .text).notNull()
                t.column("status", .text).notNull()
                t.column("request", .blob).notNull()  // the wire-encoded SaveImageRequest
                t.column("template_id", .text).notNull().defaults(to: "")
                t.column("error", .text).notNull().defaults(to: "")
                t.column("script_result", .blob)
                t.column("bytes_uploaded", .integer).notNull().defaults(to: 0)
                t.column("created_at", .integer).notNull()
            }
        }
        migrator.registerMigration("v12-revocation-index") { db in
            // The control plane polls for newly revoked certificates (`berth ca revoke`).
            try db.create(index: "certificates_on_revoked_at", on: "certificates", columns: ["revoked_at"])
        }
        migrator.registerMigration("v13-binary-blobs") { db in
            // Byte fields were written as JSON text ("[21,69,…]") before `[UInt8]` became a
            // BLOB column type (ByteArrayColumn.swift); rewrite them as the bytes they list.
            for (table, column) in binaryColumns {
                let rows = try Row.fetchAll(
                    db,
                    sql: "SELECT rowid, \(column) FROM \(table) WHERE typeof(\(column)) = 'text'"
                )
                for row in rows {
                    let text: String = row[1]
                    let bytes = try JSONDecoder().decode([UInt8].self, from: Data(text.utf8))
                    try db.execute(
                        sql: "UPDATE \(table) SET \(column) = ? WHERE rowid = ?",
                        arguments: [Data(bytes), row[0] as Int64]
                    )
                }
            }
        }
        migrator.registerMigration("v14-command-epochs") { db in
            // Command ids alone go backwards when a backup is restored (sqlite_sequence is
            // restored too), and nodes skip ids at or below what they applied. Each control
            // plane start begins an epoch; a command is (epoch, id). See docs/decisions.md.
            try db.alter(table: "node_commands") { t in
                t.add(column: "epoch", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "command_epochs") { t in
                t.autoIncrementedPrimaryKey("seq")  // the order epochs began in, in this file's history
                t.column("epoch", .integer).notNull().unique()
                t.column("first_id", .integer).notNull()  // the first command id it could issue
                t.column("started_at", .integer).notNull()
            }
            // Commands written before epochs existed are epoch 0, which began with id 1.
            try db.execute(sql: "INSERT INTO command_epochs (epoch, first_id, started_at) VALUES (0, 1, 0)")
        }
        migrator.registerMigration("v15-pending-distribution-index") { db in
            // Every hello and cache report looks for the node's unfinished pulls; without an
            // index that scanned every distribution's rows, once per node.
            try db.execute(
                sql: """
                    CREATE INDEX distribution_nodes_pending ON distribution_nodes (node_id)
                    WHERE done = 0 AND error = ''
                    """
            )
        }
        migrator.registerMigration("v16-join-token-revocation") { db in
            // Tokens are listed and revoked over the API: who minted one, and when it was
            // withdrawn before use.
            try db.alter(table: "join_tokens") { t in
                t.add(column: "created_by", .text).notNull().defaults(to: "")
                t.add(column: "revoked_at", .integer)
            }
        }
        migrator.registerMigration("v17-shared-ca") { db in
            // Replicas on PostgreSQL share one CA: its certificate, and its key sealed under
            // a secret every replica is given (docs/ha.md). One row at most.
            try db.create(table: "ca_material") { t in
                t.primaryKey("id", .integer)
                t.column("certificate_pem", .text).notNull()
                t.column("salt", .blob).notNull()
                t.column("sealed_key", .blob).notNull()
                t.column("created_at", .integer).notNull()
            }
        }
        migrator.registerMigration("v18-chunk-data") { db in
            // The registry's chunk bytes where every replica reads them (docs/ha.md). On
            // SQLite they stay in files beside the database and this table stays empty.
            try db.create(table: "chunk_data") { t in
                t.primaryKey("hash", .blob)
                t.column("data", .blob).notNull()
            }
        }
        migrator.registerMigration("v19-sessions") { db in
            // REST sessions outlive the control plane that made them: a restart, or a
            // failover to another replica, keeps callers signed in (docs/ha.md).
            try db.create(table: "sessions") { t in
                t.primaryKey("id", .text)
                t.column("token_hash", .blob).notNull()
                t.column("key_id", .text).notNull()
                t.column("oidc_user", .text).notNull()
                t.column("oidc_groups", .text).notNull()
                t.column("expires_at", .integer).notNull()
            }
            try db.create(index: "sessions_by_expiry", on: "sessions", columns: ["expires_at"])
            try db.create(index: "sessions_by_key_id", on: "sessions", columns: ["key_id"])
        }
        migrator.registerMigration("v20-instance-lifecycle") { db in
            // Berth's extension of the instance (docs/extensions.md): a delete lock, tags,
            // why, by whom and when it left `Started`, and its restart policy.
            try db.alter(table: "instances") { t in
                t.add(column: "delete_lock", .integer).notNull().defaults(to: 0)
                t.add(column: "tags", .text).notNull().defaults(to: "")
                t.add(column: "stop_reason", .text).notNull().defaults(to: "")
                t.add(column: "stopped_by", .text).notNull().defaults(to: "")
                t.add(column: "stopped_at", .integer).notNull().defaults(to: 0)
                t.add(column: "restart_policy", .text).notNull().defaults(to: "never")
                t.add(column: "max_restarts", .integer).notNull().defaults(to: 0)
                t.add(column: "restart_count", .integer).notNull().defaults(to: 0)
                t.add(column: "restart_at", .integer).notNull().defaults(to: 0)
            }
        }
        migrator.registerMigration("v21-environments") { db in
            // Several instances as one unit with an owner and a lifetime (docs/extensions.md).
            // The deadline is a column, so expiry survives a restart.
            try db.create(table: "environments") { t in
                t.primaryKey("id", .text)
                t.column("owner", .text).notNull()
                t.column("created_by", .text).notNull()
                t.column("ssh_keys", .text).notNull()
                t.column("state", .text).notNull()
                t.column("message", .text).notNull()
                t.column("lifetime_seconds", .integer).notNull()
                t.column("expires_at", .integer).notNull()
                t.column("placement_timeout_seconds", .integer).notNull()
                t.column("created_at", .integer).notNull()
                t.column("ended_at", .integer).notNull()
            }
            try db.alter(table: "instances") { t in
                t.add(column: "env_id", .text).notNull().defaults(to: "")
            }
        }
        return migrator
    }
}
