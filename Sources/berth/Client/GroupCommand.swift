import ArgumentParser
import Foundation

/// `berth group`: node groups through the REST API.
struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "Work with node groups through a gateway.",
        subcommands: [List.self, Create.self, Delete.self, Add.self, Remove.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List node groups.")
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                let groups = try await api.call(.GET, "/api/v1/group").body as? [[String: Any]] ?? []
                if gateway.json { return ClientOutput.printJSON(groups) }
                ClientOutput.printTable(
                    ["GROUP", "NAME", "FALLBACK", "DESCRIPTION"],
                    groups.map { group in ["id", "name", "fallback_group_id", "description"].map { ClientOutput.string(group[$0]) } }
                )
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a node group; prints its id.")
        @Argument(help: "The group's name.") var name: String
        @Option(help: "A description.") var description: String?
        @Option(help: "Group to fall back to when this one has no room.") var fallback: String?
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            var body: [String: Any] = ["name": name]
            if let description { body["description"] = description }
            if let fallback { body["fallback_group_id"] = fallback }
            try await APIClient.with(gateway) { api in
                let created = try await api.call(.POST, "/api/v1/group", body: body).body
                if gateway.json { return ClientOutput.printJSON(created) }
                print(ClientOutput.string((created as? [String: Any])?["id"] ?? created))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a node group.")
        @Argument(help: "The group's id.") var group: String
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                _ = try await api.call(.DELETE, "/api/v1/group", body: ["id": group])
                if !gateway.json { print("\(group) deleted") } else { ClientOutput.printJSON(["id": group]) }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add nodes to a group.")
        @Argument(help: "The group's id.") var group: String
        @Argument(help: "Node ids.") var nodes: [String]
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                _ = try await api.call(.POST, "/api/v1/node/group", body: ["group_ids": [group], "node_ids": nodes])
                if !gateway.json { print("\(nodes.count) nodes added to \(group)") } else { ClientOutput.printJSON(nodes) }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove nodes from a group.")
        @Argument(help: "The group's id.") var group: String
        @Argument(help: "Node ids.") var nodes: [String]
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                _ = try await api.call(.DELETE, "/api/v1/node/group", body: ["group_ids": [group], "node_ids": nodes])
                if !gateway.json { print("\(nodes.count) nodes removed from \(group)") } else { ClientOutput.printJSON(nodes) }
            }
        }
    }
}
