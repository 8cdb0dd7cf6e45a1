import Hummingbird
import WireProtocol

/// `/events`: the controller's event log, newest first, filtered by kind and subject.
struct EventsView {
    let portal: Portal
    static let pageSize = 100
    static let filterKeys = ["kind", "subject"]

    func register(on router: Router<GatewayContext>) {
        portal.page(
            router,
            "/events",
            title: "Event log",
            section: "events",
            live: { request in
                // Only the first page follows new events.
                guard request.query["before"] == nil else { return nil }
                return (["/live?view=events"] + request.query.queryItems(Self.filterKeys)).joined(separator: "&")
            }
        ) { request in
            let query = request.query
            return """
                <form method="get" action="/events" class="filters" role="search" aria-label="Filter events">
                <label for="e-kind">Kind starts with<input id="e-kind" name="kind" value="\(query["kind"] ?? "")" placeholder="instance."></label>
                <label for="e-subject">Subject<input id="e-subject" name="subject" value="\(query["subject"] ?? "")" placeholder="an instance or node id"></label>
                <button type="submit">Filter</button> <a href="/events">Clear</a>
                </form>
                """ + LiveFragment.render(try await fragments(request))
        }
    }

    func fragments(_ request: PortalRequest) async throws -> [LiveFragment] {
        let query = request.query
        let before = Int(query["before"] ?? "") ?? 0
        let list: EventList = try await portal.client.rpc(
            RPCCatalog.listEvents,
            principal: request.principal,
            body: EventQuery(
                afterID: nil,
                beforeID: before,
                kindPrefix: query["kind"] ?? "",
                subject: query["subject"] ?? "",
                limit: Self.pageSize
            )
        )
        let rows = list.events.map { event -> HTML in
            PortalLayout.cells([
                PortalLayout.time(micros: event.tsMicros), "\(event.kind)", "\(event.subject)", "\(event.message)",
                "\(event.actor)",
            ])
        }
        var older = HTML.empty
        if list.events.count == Self.pageSize, let last = list.events.last {
            let parts = ["before=\(last.id)"] + query.queryItems(Self.filterKeys)
            older = "<p><a href=\"/events?\(parts.joined(separator: "&"))\">Older events</a></p>"
        }
        return [
            LiveFragment(
                id: "events",
                html: PortalLayout.table(
                    caption: "Events, newest first",
                    headers: ["When", "Kind", "Subject", "Message", "By"],
                    rows: rows,
                    empty: "No events match."
                ) + older
            )
        ]
    }
}
