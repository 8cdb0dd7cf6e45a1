/// The filters, order and page of a dashboard list, read from the page's query, and the
/// links that change one of them while keeping the rest.
///
/// The control plane does the filtering, sorting and paging (``RPCCatalog/searchInstances``,
/// ``RPCCatalog/searchNodes``), so a page holds ``pageSize`` rows however large the fleet,
/// and the live feed, which renders the same query, sends only the rows in view.
struct ListControls {
    static let pageSize = 50

    let path: String
    let query: FormData
    /// Query keys that narrow the list; kept by every link.
    let filterKeys: [String]
    /// The orders the list offers; the first is the default, as on the control plane.
    let sortKeys: [String]
    /// Whether the default sort runs high to low (newest first, say).
    let defaultDescending: Bool

    var defaultSort: String { sortKeys[0] }

    /// Every query key the view reads: its live feed carries them all. The page number is
    /// `p`, since the live feed's `page` names the page a fragment's forms come back to.
    var keys: [String] { filterKeys + ["sort", "order", "p"] }

    /// The address of the view's live feed, for the same filters, order and page.
    func liveFeed(view: String) -> String {
        (["/live?view=\(view)"] + query.queryItems(keys)).joined(separator: "&")
    }

    var sort: String { query["sort"].flatMap { sortKeys.contains($0) ? $0 : nil } ?? defaultSort }

    var descending: Bool {
        switch query["order"] {
        case "desc": true
        case "asc": false
        default: sort == defaultSort ? defaultDescending : false
        }
    }

    var page: Int { max(1, min(Int(query["p"] ?? "") ?? 1, 1_000_000)) }
    var offset: Int { (page - 1) * Self.pageSize }

    /// Hidden fields for a filter form, so filtering keeps a chosen order (and starts
    /// again at the first page).
    var orderFields: HTML {
        guard query["sort"] != nil || query["order"] != nil else { return .empty }
        return """
            <input type="hidden" name="sort" value="\(sort)"><input type="hidden" name="order" value="\(descending ? "desc" : "asc")">
            """
    }

    /// The list's address with `changes` applied to the current query (`nil` removes a key).
    func link(_ changes: [String: String?]) -> String {
        var items: [String] = []
        for key in keys {
            let value = changes.keys.contains(key) ? changes[key]! : query[key]
            if let value { items.append("\(key)=\(PortalLayout.percentEncoded(value))") }
        }
        return items.isEmpty ? path : path + "?" + items.joined(separator: "&")
    }

    /// A column header; a sortable one links to its order (again: the other way round)
    /// and says how the list is sorted now.
    func header(_ label: String, sort key: String? = nil) -> HTML {
        guard let key else { return "<th scope=\"col\">\(label)</th>" }
        let current = key == sort
        let nextDescending = current ? !descending : (key == defaultSort ? defaultDescending : false)
        let href = link(["sort": key, "order": nextDescending ? "desc" : "asc", "p": nil])
        let ariaSort: HTML = current ? " aria-sort=\"\(descending ? "descending" : "ascending")\"" : .empty
        let arrow: HTML = current ? (descending ? " ↓" : " ↑") : .empty
        return "<th scope=\"col\"\(ariaSort)><a href=\"\(href)\">\(label)\(arrow)</a></th>"
    }

    /// Where this page stands, and links to the pages beside it.
    func pager(shown: Int, matching: Int, total: Int, noun: String) -> HTML {
        let first = shown == 0 ? 0 : offset + 1
        let summary: HTML =
            matching == total
            ? "\(first)–\(offset + shown) of \(matching) \(noun)"
            : "\(first)–\(offset + shown) of \(matching) matching (\(total) \(noun) in all)"
        let pages = max(1, (matching + Self.pageSize - 1) / Self.pageSize)
        var links: HTML = .empty
        if page > 1 {
            links = links + "<a href=\"\(link(["p": page == 2 ? nil : String(page - 1)]))\" rel=\"prev\">Previous</a> "
        }
        if page < pages {
            links = links + "<a href=\"\(link(["p": String(page + 1)]))\" rel=\"next\">Next</a>"
        }
        return """
            <nav class="pager" aria-label="Pages"><p class="detail">\(summary) · page \(page) of \(pages)</p>\(links)</nav>
            """
    }
}
