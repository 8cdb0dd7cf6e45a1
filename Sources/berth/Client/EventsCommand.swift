import ArgumentParser
import Foundation

/// `berth events`: the event log through the REST API.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show the event log; --follow prints new events as they come."
    )

    @Option(help: "Only kinds starting with this, e.g. instance. or node.") var kind: String?
    @Option(help: "Only events about this subject (an instance, node or key id).") var subject: String?
    @Option(help: "How many of the newest to show first.") var limit = 50
    @Flag(help: "Keep printing new events until interrupted.") var follow = false
    @OptionGroup var gateway: GatewayOptions

    func run() async throws {
        try await APIClient.with(gateway) { api in
            var filter = ""
            if let kind { filter += "&kind=\(VMCommand.escaped(kind))" }
            if let subject { filter += "&subject=\(VMCommand.escaped(subject))" }
            // The newest `limit`, printed oldest first; then everything after the last id seen.
            let newest = try await api.call(.GET, "/berth/v1/events?limit=\(limit)\(filter)").body as? [[String: Any]] ?? []
            let ordered = newest.sorted { ($0["id"] as? Int ?? 0) < ($1["id"] as? Int ?? 0) }
            ordered.forEach(show)
            guard follow else { return }
            var last = ordered.last?["id"] as? Int ?? 0
            if last == 0 {
                let one = try await api.call(.GET, "/berth/v1/events?limit=1").body as? [[String: Any]] ?? []
                last = one.first?["id"] as? Int ?? 0
            }
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                let fresh = try await api.call(.GET, "/berth/v1/events?after=\(last)&limit=500\(filter)").body as? [[String: Any]] ?? []
                for event in fresh.sorted(by: { ($0["id"] as? Int ?? 0) < ($1["id"] as? Int ?? 0) }) {
                    show(event)
                    last = max(last, event["id"] as? Int ?? last)
                }
            }
        }
    }

    func show(_ event: [String: Any]) {
        if gateway.json {
            print(ClientOutput.compact(event))
            fflush(nil)
            return
        }
        let fields = ["ts", "kind", "subject", "message"].map { ClientOutput.string(event[$0]) }
        let actor = ClientOutput.string(event["actor"])
        print(fields.joined(separator: "  ") + (actor.isEmpty ? "" : "  (\(actor))"))
        fflush(nil)
    }
}
