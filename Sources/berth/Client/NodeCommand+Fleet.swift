import ArgumentParser
import Foundation

/// `berth node list|show|drain|config|delete`: the fleet's nodes through the REST API
/// (`join` and `run` are the agent's own).
extension NodeCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List nodes.")
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                let nodes = try await api.call(.GET, "/api/v1/node").body as? [[String: Any]] ?? []
                if gateway.json { return ClientOutput.printJSON(nodes) }
                ClientOutput.printTable(
                    ["NODE", "NAME", "STATE", "VMS", "CAPACITY", "ARCH", "DRAIN", "IP"],
                    nodes.map { node in
                        ["node_id", "node_name", "state", "vm_count", "capacity", "host_arch", "drain_mode", "ip_address"]
                            .map { ClientOutput.string(node[$0]) }
                    }
                )
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one node.")
        @Argument(help: "The node's id.") var node: String
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                let nodes = try await api.call(.GET, "/api/v1/node?id=\(VMCommand.escaped(node))").body as? [[String: Any]]
                guard let found = nodes?.first else { throw CommandFailure("no node \(node)") }
                if gateway.json { return ClientOutput.printJSON(found) }
                ClientOutput.printFields(found)
            }
        }
    }

    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop placing instances on a node (running ones stay); --undo places again."
        )
        @Argument(help: "The node's id.") var node: String
        @Flag(help: "End the drain.") var undo = false
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                _ = try await api.call(.POST, "/api/v1/node/config", body: ["node_id": node, "drain_mode": !undo])
                if gateway.json { ClientOutput.printJSON(["node_id": node, "drain_mode": !undo]) }
                else { print(undo ? "\(node) takes instances again" : "\(node) drained") }
            }
        }
    }

    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a node's name or capacity.")
        @Argument(help: "The node's id.") var node: String
        @Option(help: "New name.") var name: String?
        @Option(name: .customLong("max-vms"), help: "Instances the node may run at once.") var maxVMs: Int?
        @Option(help: "number (count instances) or resource (count CPU and RAM).") var capacityMode: String?
        @Option(help: "vCPUs to count instead of the node's own.") var vcpuOverride: Int?
        @Option(help: "RAM (MB) to count instead of the node's own.") var ramOverride: Int?
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            var body: [String: Any] = ["node_id": node]
            if let name { body["name"] = name }
            if let maxVMs { body["max_vm_count"] = maxVMs }
            if let capacityMode { body["capacity_mode"] = capacityMode }
            if let vcpuOverride { body["vcpu_override"] = vcpuOverride }
            if let ramOverride { body["ram_override"] = ramOverride }
            guard body.count > 1 else { throw ValidationError("give at least one setting to change") }
            try await APIClient.with(gateway) { api in
                _ = try await api.call(.POST, "/api/v1/node/config", body: body)
                if gateway.json { ClientOutput.printJSON(body) } else { print("\(node) updated") }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a node and revoke its certificates; its instances end."
        )
        @Argument(help: "The node's id.") var node: String
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                _ = try await api.call(.DELETE, "/api/v1/node", body: ["node_id": node])
                if gateway.json { ClientOutput.printJSON(["node_id": node]) } else { print("\(node) deleted") }
            }
        }
    }
}
