import ArgumentParser
import Foundation

/// `berth vm start|list|show|wait|terminate|restart`: instances through the REST API.
extension VMCommand {
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start instances of a template; prints their ids.")

        @Argument(help: "The template's id (vmid).")
        var template: String
        @Option(help: "Tag to start (default: the newest).") var tag: String?
        @Option(help: "How many instances.") var count = 1
        @Option(help: "Run on this node.") var node: String?
        @Option(help: "Run in this node group.") var groupID: String?
        @Option(help: "A name for the instances.") var name: String?
        @Option(help: "A string kept with the instances (your job's id).") var externalID: String?
        @Option(help: "Priority, 1 (most urgent) to 10000.") var priority: Int?
        @Flag(help: "Wait until every instance is Started (or failed).") var wait = false
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            var body: [String: Any] = ["vmid": template, "count": count]
            if let tag { body["tag"] = tag }
            if let node { body["node_id"] = node }
            if let groupID { body["group_id"] = groupID }
            if let name { body["name"] = name }
            if let externalID { body["external_id"] = externalID }
            if let priority { body["priority"] = priority }
            try await APIClient.with(gateway) { api in
                let ids = try await api.call(.POST, "/api/v1/vm", body: body).body as? [String] ?? []
                if wait {
                    for id in ids { _ = try await VMCommand.wait(api, id: id, states: "Started", timeout: 600) }
                }
                if gateway.json { ClientOutput.printJSON(ids) } else { ids.forEach { print($0) } }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List instances.")
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                let entries = try await api.call(.GET, "/api/v1/vm").body as? [[String: Any]] ?? []
                if gateway.json { return ClientOutput.printJSON(entries) }
                ClientOutput.printTable(
                    ["INSTANCE", "STATE", "TEMPLATE", "TAG", "NODE", "IP", "NAME"],
                    entries.map { entry in
                        let vm = entry["vm"] as? [String: Any] ?? [:]
                        let info = vm["vminfo"] as? [String: Any] ?? [:]
                        return [
                            ClientOutput.string(entry["instance_id"]), ClientOutput.string(vm["instance_state"]),
                            ClientOutput.string(vm["vmid"]), ClientOutput.string(vm["tag"]),
                            ClientOutput.string(vm["node_id"]), ClientOutput.string(info["ip"]),
                            ClientOutput.string(entry["name"]),
                        ]
                    }
                )
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one instance.")
        @Argument(help: "The instance's id.") var instance: String
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                let body = try await api.call(.GET, "/api/v1/vm?id=\(VMCommand.escaped(instance))").body
                if gateway.json { return ClientOutput.printJSON(body) }
                ClientOutput.printFields(body as? [String: Any] ?? [:])
            }
        }
    }

    struct Wait: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait until an instance reaches a state; exits 1 if it ends in another or time runs out."
        )
        @Argument(help: "The instance's id.") var instance: String
        @Option(help: "States to wait for, comma-separated.") var state = "Started"
        @Option(help: "Seconds to wait, up to 600.") var timeout = 300.0
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                let body = try await VMCommand.wait(api, id: instance, states: state, timeout: timeout)
                if gateway.json { return ClientOutput.printJSON(body) }
                print("\(instance) \(ClientOutput.string((body as? [String: Any])?["instance_state"]))")
            }
        }
    }

    struct Terminate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Terminate instances.")
        @Argument(help: "Instance ids.") var instances: [String]
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                for id in instances {
                    _ = try await api.call(.DELETE, "/api/v1/vm", body: ["id": id])
                    if !gateway.json { print("terminating \(id)") }
                }
                if gateway.json { ClientOutput.printJSON(instances) }
            }
        }
    }

    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restart an instance's VM on its node.")
        @Argument(help: "The instance's id.") var instance: String
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                _ = try await api.call(.POST, "/api/v1/rpc/vm/restart", body: ["id": instance])
                if gateway.json { ClientOutput.printJSON(["id": instance]) } else { print("restarting \(instance)") }
            }
        }
    }

    /// `GET /berth/v1/vm/wait`, repeated past its 600 s limit; fails unless a wanted state came.
    static func wait(_ api: APIClient, id: String, states: String, timeout: Double) async throws -> Any? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let left = max(0, min(600, deadline.timeIntervalSinceNow))
            let path = "/berth/v1/vm/wait?id=\(escaped(id))&state=\(escaped(states))&timeout=\(Int(left.rounded(.up)))"
            do {
                return try await api.call(.GET, path).body
            } catch let failure as CommandFailure where failure.description.hasPrefix("timed out") && Date() < deadline {
                continue
            }
        }
    }

    static func escaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "=", "+", "?"])) ?? text
    }
}
