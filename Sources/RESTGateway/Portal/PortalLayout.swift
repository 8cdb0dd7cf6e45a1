import Foundation

/// The page frame and the small widgets every view shares.
enum PortalLayout {
    static let navigation: [(section: String, path: String, label: String)] = [
        ("dashboard", "/", "Dashboard"),
        ("nodes", "/nodes", "Nodes"),
        ("templates", "/templates", "Templates"),
        ("instances", "/instances", "Instances"),
        ("environments", "/environments", "Environments"),
        ("groups", "/groups", "Groups"),
        ("keys", "/keys", "API keys"),
        ("permission-groups", "/permission-groups", "Permission groups"),
        ("events", "/events", "Event log"),
    ]

    static func page(
        title: String,
        section: String,
        request: PortalRequest,
        live: String?,
        showAccount: Bool,
        body: HTML
    ) -> HTML {
        let nav = navigation.html { item in
            item.section == section
                ? "<li><a href=\"\(item.path)\" aria-current=\"page\">\(item.label)</a></li>"
                : "<li><a href=\"\(item.path)\">\(item.label)</a></li>"
        }
        var account = HTML.empty
        if showAccount, request.session.kind != .visitor {
            account = """
                <div class="account"><span>Signed in as <strong>\(request.session.user)</strong></span>
                <form method="post" action="/logout">\(csrf(request))<button type="submit" class="link">Log out</button></form></div>
                """
        } else if showAccount, request.principal.kind == .certificate {
            account =
                "<div class=\"account\"><span>Client certificate <strong>\(request.principal.name)</strong></span></div>"
        }
        let liveAttribute: HTML = live.map { " data-live=\"\($0)\"" } ?? .empty
        return """
            \(head(title: title, script: true))
            <body\(liveAttribute)>
            <a class="skip" href="#main">Skip to content</a>
            <header class="top">
            <a class="brand" href="/">Berth</a>
            <nav aria-label="Main"><ul>\(nav)</ul></nav>
            \(account)
            </header>
            <main id="main" tabindex="-1">
            <h1>\(title)</h1>
            \(flash(request.flash))
            \(body)
            </main>
            <footer><span id="live-status" role="status" aria-live="polite">\(live == nil ? "" : "Connecting…")</span></footer>
            </body>
            </html>
            """
    }

    /// The doctype and `<head>`: the stylesheet, and the live-update script on full pages.
    static func head(title: String, script: Bool, refresh: String? = nil) -> HTML {
        var scriptTag: HTML = script ? "<script src=\"/assets/portal.js\" defer></script>\n" : .empty
        if let refresh { scriptTag = scriptTag + "<meta http-equiv=\"refresh\" content=\"0; url=\(refresh)\">\n" }
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light dark">
            <title>\(title) · Berth</title>
            <link rel="stylesheet" href="/assets/portal.css">
            \(scriptTag)</head>
            """
    }

    /// A page without navigation (login, a refused form); with `refresh`, the browser moves
    /// on to that path at once, as a navigation of this site's own.
    static func bare(title: String, body: HTML, refresh: String? = nil) -> HTML {
        """
        \(head(title: title, script: false, refresh: refresh))
        <body class="bare">
        <main id="main">
        <h1>\(title)</h1>
        \(body)
        </main>
        </body>
        </html>
        """
    }

    static func flash(_ flash: Flash?) -> HTML {
        guard let flash else { return .empty }
        return flash.isError
            ? "<div class=\"flash error\" role=\"alert\">\(flash.message)</div>"
            : "<div class=\"flash ok\" role=\"status\">\(flash.message)</div>"
    }

    static func errorBox(_ message: String) -> HTML {
        "<div class=\"flash error\" role=\"alert\">\(message)</div>"
    }

    static func csrf(_ request: PortalRequest) -> HTML {
        "<input type=\"hidden\" name=\"_csrf\" value=\"\(request.session.csrf)\">"
    }

    /// The hidden fields every form carries: the CSRF token and where to come back to.
    static func formFields(_ request: PortalRequest, back: String? = nil) -> HTML {
        csrf(request) + "<input type=\"hidden\" name=\"_back\" value=\"\(back ?? request.here)\">"
    }

    /// A one-button form, e.g. Terminate.
    static func button(
        _ request: PortalRequest,
        action: String,
        label: String,
        fields: [(String, String)] = [],
        style: String = "",
        accessibleLabel: String? = nil
    ) -> HTML {
        let hidden = fields.html { "<input type=\"hidden\" name=\"\($0.0)\" value=\"\($0.1)\">" }
        let aria: HTML = accessibleLabel.map { " aria-label=\"\($0)\"" } ?? .empty
        return """
            <form method="post" action="\(action)" class="inline">\(formFields(request))\(hidden)<button type="submit" class="\(style)"\(aria)>\(label)</button></form>
            """
    }

    static func confirmation(_ question: String, form: FormData, action: String, back: String) -> HTML {
        let hidden = form.without(["confirmed"]).html {
            "<input type=\"hidden\" name=\"\($0.0)\" value=\"\($0.1)\">"
        }
        return """
            <section class="confirm" aria-labelledby="confirm-question">
            <p id="confirm-question" class="question">\(question)</p>
            <form method="post" action="\(action)">\(hidden)<input type="hidden" name="confirmed" value="1">
            <button type="submit" class="primary" autofocus>Confirm</button>
            <a class="button" href="\(back)">Cancel</a>
            </form>
            </section>
            """
    }

    static func table(caption: String, headers: [String], rows: [HTML], empty: String) -> HTML {
        table(caption: caption, headerCells: headers.map { "<th scope=\"col\">\($0)</th>" }, rows: rows, empty: empty)
    }

    /// A table whose header cells are built by the caller (sortable columns: ``ListControls``).
    static func table(caption: String, headerCells: [HTML], rows: [HTML], empty: String) -> HTML {
        guard !rows.isEmpty else { return "<p class=\"empty\">\(empty)</p>" }
        let head = headerCells.html { $0 }
        return """
            <div class="table-wrap"><table>
            <caption class="visually-hidden">\(caption)</caption>
            <thead><tr>\(head)</tr></thead>
            <tbody>\(rows)</tbody>
            </table></div>
            """
    }

    static func cells(_ values: [HTML]) -> HTML {
        "<tr>" + values.html { "<td>\($0)</td>" } + "</tr>"
    }

    /// A state as a labelled badge; the colour only repeats what the text says.
    static func badge(_ state: String) -> HTML {
        let tone: String =
            switch state {
            case "Started", "Active", "done", "Running": "good"
            case "Scheduling", "Pulling", "Pushing", "Stopping", "Updating", "pending", "pulling", "Drain mode":
                "busy"
            case "Error", "Unhealthy", "failed", "Offline": "bad"
            default: "plain"
            }
        return "<span class=\"badge \(tone)\">\(state)</span>"
    }

    static func bytes(_ value: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024, unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : String(format: "%.1f %@", amount, units[unit])
    }

    static func percent(_ fraction: Double) -> String {
        String(format: "%.0f%%", max(0, min(1, fraction)) * 100)
    }

    /// `2026-11-25 10:04:05 UTC` with a machine-readable `<time>`.
    static func time(micros: Int) -> HTML {
        guard micros > 0 else { return "—" }
        let iso = AnkaJSON.timestamp(micros: micros)
        let shown = iso.prefix(19).replacingOccurrences(of: "T", with: " ") + " UTC"
        return "<time datetime=\"\(iso)\">\(shown)</time>"
    }

    static func duration(millis: Int) -> String {
        let seconds = millis / 1000
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return "\(seconds / 60) min \(seconds % 60) s" }
        return "\(seconds / 3600) h \(seconds % 3600 / 60) min"
    }

    static func option(_ value: String, label: String, selected: Bool) -> HTML {
        selected
            ? "<option value=\"\(value)\" selected>\(label)</option>"
            : "<option value=\"\(value)\">\(label)</option>"
    }

    static func percentEncoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? ""
    }
}
