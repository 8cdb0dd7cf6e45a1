import Hummingbird

/// Registers the web dashboard: assets, login, every view and the live feed.
struct PortalRoutes {
    let portal: Portal
    let registryAddress: String

    func register(on router: Router<GatewayContext>) {
        PortalAssets.register(on: router)
        let login = LoginView(portal: portal)
        login.register(on: router)
        OIDCLoginView(portal: portal, login: login).register(on: router)
        let dashboard = DashboardView(portal: portal)
        dashboard.register(on: router)
        let nodes = NodesView(portal: portal)
        nodes.register(on: router)
        let instances = InstancesView(portal: portal)
        instances.register(on: router)
        let templates = TemplatesView(portal: portal)
        templates.register(on: router)
        let environments = EnvironmentsView(portal: portal)
        environments.register(on: router)
        GroupsView(portal: portal).register(on: router)
        KeysView(portal: portal).register(on: router)
        PermissionGroupsView(portal: portal).register(on: router)
        let events = EventsView(portal: portal)
        events.register(on: router)
        LiveFeed(
            portal: portal,
            sources: [
                "dashboard": dashboard.fragments,
                "nodes": nodes.listFragments,
                "node": { request in try await nodes.detailFragments(request, id: request.query["id"] ?? "") },
                "templates": templates.listFragments,
                "template": { request in try await templates.detailFragments(request, id: request.query["id"] ?? "") },
                "instances": instances.listFragments,
                "instance": { request in try await instances.detailFragments(request, id: request.query["id"] ?? "") },
                "events": events.fragments,
                "environments": environments.fragments,
            ]
        ).register(on: router)
    }
}
