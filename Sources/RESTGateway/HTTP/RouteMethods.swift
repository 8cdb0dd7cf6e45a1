import HTTPTypes
import Hummingbird
import Synchronization

/// Which methods each routed path answers, so that a known path asked with another method
/// gets 405 with `Allow` (RFC 9110 §15.5.6) instead of the router's 404.
///
/// Filled once the router's routes are registered (``load(_:)``); read per refused request.
final class RouteMethods: Sendable {
    private let table = Mutex<[(pattern: [Substring], methods: Set<String>)]>([])

    /// Records the routes of a built router.
    func load(_ routes: [Router<GatewayContext>.RouteDescription]) {
        var byPath: [String: Set<String>] = [:]
        for route in routes { byPath[route.path.description, default: []].insert(route.method.rawValue) }
        table.withLock { table in
            table = byPath.map { path, methods in
                (pattern: path.split(separator: "/"), methods: methods)
            }
        }
    }

    /// The methods `path` is routed for, sorted; empty when no route has this path.
    func allowed(for path: String) -> [String] {
        let parts = path.split(separator: "/")
        return table.withLock { table in
            table.filter { entry in
                entry.pattern.count == parts.count
                    && zip(entry.pattern, parts).allSatisfy { pattern, part in
                        pattern.hasPrefix(":") || pattern == "*" || pattern == part
                    }
            }.reduce(into: Set<String>()) { $0.formUnion($1.methods) }.sorted()
        }
    }
}
