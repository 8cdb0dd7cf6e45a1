/// A part of a page that ``LiveFeed`` can replace: `<div id="live-<id>">`.
struct LiveFragment: Sendable, Equatable {
    var id: String
    var html: HTML

    /// The fragments in their containers, for the first render of a page.
    static func render(_ fragments: [LiveFragment]) -> HTML {
        fragments.html { "<div id=\"live-\($0.id)\" class=\"live\">\($0.html)</div>" }
    }
}

/// Fetches that leave a part of a page out, instead of failing it, when the caller lacks
/// the permission (a UAK that may list instances but not nodes still gets a dashboard).
enum PortalData {
    static func permitted<T>(_ fetch: () async throws -> T) async throws -> T? {
        do {
            return try await fetch()
        } catch let error as GatewayError where error.status == .forbidden {
            return nil
        }
    }
}
