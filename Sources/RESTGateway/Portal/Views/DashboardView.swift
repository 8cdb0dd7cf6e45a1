import Foundation
import Hummingbird
import WireProtocol

/// `/`: the fleet at a glance, and charts of its last hour.
struct DashboardView {
    let portal: Portal

    func register(on router: Router<GatewayContext>) {
        portal.page(router, "/", title: "Dashboard", section: "dashboard", live: { _ in "/live?view=dashboard" }) {
            request in
            try await LiveFragment.render(try await fragments(request))
        }
    }

    func fragments(_ request: PortalRequest) async throws -> [LiveFragment] {
        let client = portal.client
        let principal = request.principal
        async let history: FleetHistory? = PortalData.permitted {
            try await client.rpc(RPCCatalog.fleetHistory, principal: principal, body: Empty())
        }
        async let disk: RegistryDisk? = PortalData.permitted {
            try await client.rpc(RPCCatalog.registryDisk, principal: principal, body: Empty())
        }
        let samples = try await history?.samples ?? []
        return [
            LiveFragment(
                id: "dash-counts",
                html: counts(now: samples.last, disk: try await disk)
            ),
            LiveFragment(id: "dash-charts", html: charts(samples)),
        ]
    }

    private func counts(now: FleetSample?, disk: RegistryDisk?) -> HTML {
        func card(_ label: String, _ value: String, _ detail: String = "") -> HTML {
            "<div class=\"card\"><dt>\(label)</dt><dd><span class=\"figure\">\(value)</span> <span class=\"detail\">\(detail)</span></dd></div>"
        }
        var cards: [HTML] = []
        if let now {
            cards.append(card("Active nodes", "\(now.activeNodes)", "of \(now.enrolledNodes)"))
            cards.append(
                card("Running instances", "\(now.instancesByState["Started"] ?? 0)", "\(now.queueLength) queued")
            )
            let used = now.capacityTotal == 0 ? 0 : Double(now.capacityUsed) / Double(now.capacityTotal)
            cards.append(
                card("Capacity used", "\(now.capacityUsed) / \(now.capacityTotal)", PortalLayout.percent(used))
            )
            cards.append(card("Average CPU", PortalLayout.percent(now.cpuUtil), "of active nodes"))
            cards.append(card("Average RAM", PortalLayout.percent(now.ramUtil), "of active nodes"))
        } else {
            cards.append(card("Nodes", "—", "needs list_nodes"))
        }
        if let disk {
            cards.append(
                card(
                    "Registry storage",
                    PortalLayout.bytes(disk.storedBytes),
                    "used, \(PortalLayout.bytes(disk.freeBytes)) free of \(PortalLayout.bytes(disk.totalBytes))"
                )
            )
        } else {
            cards.append(card("Registry storage", "—", "needs get_registry_disk_info"))
        }
        return "<dl class=\"cards\">\(cards)</dl>"
    }

    private func charts(_ samples: [FleetSample]) -> HTML {
        guard !samples.isEmpty else { return "<p class=\"empty\">No samples yet.</p>" }
        let times = samples.map(\.tsMicros)
        let shown = ["Started", "Scheduling", "Pulling", "Error"]
        var states = shown.map { state in
            SVGChart.Series(label: state, values: samples.map { Double($0.instancesByState[state] ?? 0) })
        }
        states.append(
            SVGChart.Series(
                label: "Other",
                values: samples.map { sample in
                    Double(sample.instancesByState.filter { !shown.contains($0.key) }.values.reduce(0, +))
                }
            )
        )
        let count: (Double) -> String = { String(Int($0.rounded())) }
        let seconds: (Double) -> String = { PortalLayout.duration(millis: Int($0)) }
        return """
            <div class="charts">
            \(SVGChart.lines(id: "chart-states", title: "Instances by state", times: times, series: states, format: count))
            \(SVGChart.lines(id: "chart-queue", title: "Queue length", times: times, series: [SVGChart.Series(label: "Queued", values: samples.map { Double($0.queueLength) })], format: count))
            \(SVGChart.lines(id: "chart-wait", title: "Queue wait time", times: times, series: [SVGChart.Series(label: "Average", values: samples.map { Double($0.queueWaitAverageMillis) }), SVGChart.Series(label: "Longest", values: samples.map { Double($0.queueWaitMaxMillis) })], minimumTop: 10_000, format: seconds))
            \(SVGChart.lines(id: "chart-util", title: "Utilisation", times: times, series: [SVGChart.Series(label: "Capacity", values: samples.map { $0.capacityTotal == 0 ? 0 : Double($0.capacityUsed) / Double($0.capacityTotal) }), SVGChart.Series(label: "CPU", values: samples.map(\.cpuUtil)), SVGChart.Series(label: "RAM", values: samples.map(\.ramUtil))], maxValue: 1, format: { PortalLayout.percent($0) }))
            </div>
            """
    }
}
