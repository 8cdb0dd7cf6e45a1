import ArgumentParser
import Foundation

/// `berth template`: the registry's templates through the REST API.
struct TemplateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Work with registry templates through a gateway.",
        subcommands: [List.self, Push.self, Delete.self, Distribute.self, PullStatus.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List templates.")
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                let templates = try await api.call(.GET, "/api/v1/registry/vm").body as? [[String: Any]] ?? []
                if gateway.json { return ClientOutput.printJSON(templates) }
                ClientOutput.printTable(
                    ["TEMPLATE", "NAME", "ARCH", "SIZE", "TAGS"],
                    templates.map { template in
                        let tags = (template["versions"] as? [[String: Any]] ?? []).compactMap { $0["tag"] as? String }
                        return [
                            ClientOutput.string(template["id"]), ClientOutput.string(template["name"]),
                            ClientOutput.string(template["arch"]), ByteSize.text(template["size"] as? Int ?? 0),
                            tags.joined(separator: ", "),
                        ]
                    }
                )
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a template and all its versions.")
        @Argument(help: "The template's id.") var template: String
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                _ = try await api.call(.DELETE, "/api/v1/registry/vm", body: ["id": template])
                if gateway.json { ClientOutput.printJSON(["id": template]) } else { print("template \(template) deleted") }
            }
        }
    }

    struct Distribute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Preload a template on nodes, following each node's progress until all are done."
        )
        @Argument(help: "The template's id.") var template: String
        @Option(help: "Tag (default: the newest).") var tag: String?
        @Option(help: "Only these nodes (repeatable).") var node: [String] = []
        @Option(help: "Only the nodes of this node group.") var groupID: String?
        @Flag(help: "Print the request id and return at once.") var detach = false
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            var body: [String: Any] = ["template_id": template]
            if let tag { body["tag"] = tag }
            if !node.isEmpty { body["node_ids"] = node }
            if let groupID { body["group_id"] = groupID }
            try await APIClient.with(gateway) { api in
                let started = try await api.call(.POST, "/api/v1/registry/vm/distribute", body: body)
                guard let id = (started.body as? [String: Any])?["request_id"] as? String else {
                    throw CommandFailure("the gateway answered no request_id")
                }
                if detach {
                    if gateway.json { ClientOutput.printJSON(started.body) } else { print(id) }
                    return
                }
                let final = try await PullStatus.follow(api, request: id, live: !gateway.json)
                if gateway.json { ClientOutput.printJSON(final) }
                let failed = Self.failures(final)
                if !failed.isEmpty { throw CommandFailure("distribution \(id) failed on \(failed.joined(separator: ", "))") }
            }
        }

        static func failures(_ status: [String: Any]) -> [String] {
            (status["distribute_status"] as? [String: [String: Any]] ?? [:])
                .filter { !(($0.value["error"] as? String) ?? "").isEmpty }.map(\.key).sorted()
        }
    }

    struct PullStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pull-status",
            abstract: "Show a distribution's per-node progress (all requests without an id); --follow until done."
        )
        @Argument(help: "The distribution request's id.") var request: String?
        @Flag(help: "Follow until every node is done.") var follow = false
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                guard let request else {
                    let all = try await api.call(.GET, "/api/v1/registry/vm/distribute").body
                    if gateway.json { return ClientOutput.printJSON(all) }
                    ClientOutput.printTable(
                        ["REQUEST", "TEMPLATE", "TAG", "REQUESTED", "NODES DONE"],
                        (all as? [[String: Any]] ?? []).map { entry in
                            let head = entry["request"] as? [String: Any] ?? [:]
                            let nodes = entry["distribute_status"] as? [String: [String: Any]] ?? [:]
                            let done = nodes.values.filter { $0["status"] as? Bool == true }.count
                            return [
                                ClientOutput.string(head["request_id"]), ClientOutput.string(head["template_id"]),
                                ClientOutput.string(head["tag"]), ClientOutput.string(head["time_requested"]),
                                "\(done)/\(nodes.count)",
                            ]
                        }
                    )
                    return
                }
                if follow {
                    let final = try await Self.follow(api, request: request, live: !gateway.json)
                    if gateway.json { ClientOutput.printJSON(final) }
                    return
                }
                let status = try await api.call(.GET, "/api/v1/registry/vm/distribute?id=\(VMCommand.escaped(request))").body
                if gateway.json { return ClientOutput.printJSON(status) }
                Self.printNodes(status as? [String: Any] ?? [:])
            }
        }

        /// Polls once a second, printing each node's line when it changes, until every node is
        /// done or failed (or the request was cancelled); returns the last status.
        static func follow(_ api: APIClient, request: String, live: Bool) async throws -> [String: Any] {
            var shown: [String: String] = [:]
            while true {
                let status =
                    try await api.call(.GET, "/api/v1/registry/vm/distribute?id=\(VMCommand.escaped(request))").body
                    as? [String: Any] ?? [:]
                let nodes = status["distribute_status"] as? [String: [String: Any]] ?? [:]
                for (node, entry) in nodes.sorted(by: { $0.key < $1.key }) {
                    let line = Self.line(node, entry)
                    if live, shown[node] != line { print(line) }
                    shown[node] = line
                }
                let cancelled = (status["request"] as? [String: Any])?["cancelled"] as? Bool ?? false
                let finished = nodes.values.allSatisfy {
                    $0["status"] as? Bool == true || !(($0["error"] as? String) ?? "").isEmpty
                }
                if cancelled || finished {
                    if live { print(cancelled ? "cancelled" : "done: \(nodes.count) nodes") }
                    return status
                }
                try await Task.sleep(for: .seconds(1))
            }
        }

        static func printNodes(_ status: [String: Any]) {
            let nodes = status["distribute_status"] as? [String: [String: Any]] ?? [:]
            for (node, entry) in nodes.sorted(by: { $0.key < $1.key }) { print(line(node, entry)) }
        }

        static func line(_ node: String, _ entry: [String: Any]) -> String {
            let progress = Int(((entry["progress"] as? Double) ?? 0) * 100)
            let bytes = ByteSize.text(entry["bytes_fetched"] as? Int ?? 0)
            if let error = entry["error"] as? String, !error.isEmpty { return "\(node)  failed: \(error)" }
            return "\(node)  \(entry["status"] as? Bool == true ? "done" : "\(progress)%")  \(bytes)"
        }
    }
}

/// Byte counts for people: 1.5 GiB.
enum ByteSize {
    static func text(_ bytes: Int) -> String {
        ByteCountFormatter.string(fromByteCount: Int64(bytes), countStyle: .binary)
    }
}
