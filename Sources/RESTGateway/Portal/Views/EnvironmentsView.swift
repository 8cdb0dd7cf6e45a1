import Foundation
import Hummingbird
import WireProtocol

/// `/environments`: the environments the signed-in user may see, with their VMs' states and
/// the time each has left (docs/extensions.md).
struct EnvironmentsView {
    let portal: Portal

    func register(on router: Router<GatewayContext>) {
        portal.page(
            router,
            "/environments",
            title: "Environments",
            section: "environments",
            live: { _ in "/live?view=environments" }
        ) { request in
            LiveFragment.render(try await fragments(request))
        }
    }

    func fragments(_ request: PortalRequest) async throws -> [LiveFragment] {
        let list: EnvironmentList = try await portal.client.rpc(
            RPCCatalog.listEnvironments,
            principal: request.principal,
            body: IDQuery(id: "")
        )
        let now = Int(Date().timeIntervalSince1970 * 1_000_000)
        let rows = list.items.reversed().map { environment -> HTML in
            let started = environment.members.filter { $0.state == .started }.count
            let live = ["creating", "running", "stopped"].contains(environment.state)
            let members = environment.members.map { member -> String in
                "\(member.name.isEmpty ? member.instanceID : member.name): \(member.state)"
            }
            return PortalLayout.cells([
                "\(environment.id)",
                "\(environment.owner)",
                PortalLayout.badge(environment.state),
                "\(started) of \(environment.members.count) Started<br><small>\(members.joined(separator: ", "))</small>",
                live ? "\(Self.duration(seconds: max(0, (environment.expiresAtMicros - now) / 1_000_000)))" : "—",
                PortalLayout.time(micros: environment.expiresAtMicros),
                "\(environment.message)",
            ])
        }
        return [
            LiveFragment(
                id: "environments",
                html: PortalLayout.table(
                    caption: "Environments, newest first",
                    headers: ["Id", "Owner", "State", "VMs", "Time left", "Expires", "Message"],
                    rows: rows,
                    empty: "No environments. Create one with POST /berth/v1/env."
                )
            )
        ]
    }

    /// `2h 05m`, `4m 10s`, `12s`.
    static func duration(seconds: Int) -> String {
        let hours = seconds / 3600
        let minutes = seconds % 3600 / 60
        if hours > 0 { return "\(hours)h \(String(format: "%02d", minutes))m" }
        if minutes > 0 { return "\(minutes)m \(String(format: "%02d", seconds % 60))s" }
        return "\(seconds)s"
    }
}
