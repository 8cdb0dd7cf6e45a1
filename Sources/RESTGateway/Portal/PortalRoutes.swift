import Hummingbird

/// Registers the web dashboard: assets, login, every view and the live feed.
struct PortalRoutes {
    let portal: Portal
    let registryAddress: String

    func register(on router: Router<GatewayContext>) {
        PortalAssets.register(on: router)
        LoginView(portal: portal).register(on: router)
        let dashboard = DashboardView(portal: portal)
        dashboard.register(on: router)
        let nodes = NodesView(portal: portal)
        nodes.register(on: router)
        let instances = InstancesView(portal: portal)
        instances.register(on: router)
        let templates = TemplatesView(portal: portal)
        templates.register(on: router)
        GroupsView(portal: portal).register(on: router)
        KeysView(portal: portal).register(on: router)
        PermissionGroupsView(portal: portal).register(on: router)
        let events = EventsView(portal: portal)
        events.register(on: router)
        LiveFeed(
            portal: portal,
            sources: [
                "dashboard": { request, _ in try await dashboard.fragments(request) },
                "nodes": { request, _ in try await nodes.listFragments(request) },
                "instances": { request, query in try await instances.listFragments(request, query: query) },
                "instance": { request, query in try await instances.detailFragments(request, id: query["id"] ?? "") },
                "templates": { request, _ in try await templates.listFragments(request) },
                "template": { request, query in try await templates.detailFragments(request, id: query["id"] ?? "") },
                "events": { request, query in try await events.fragments(request, query: query) },
                "node": { request, query in try await nodes.detailFragments(request, id: query["id"] ?? "") },
            ]
        ).register(on: router)
    }
}
