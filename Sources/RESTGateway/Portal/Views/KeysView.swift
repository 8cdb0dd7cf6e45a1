import Foundation
import Hummingbird
import WireProtocol

/// `/keys`: user API keys (UAK). A new key's private key is shown once, never again.
struct KeysView {
    let portal: Portal

    func register(on router: Router<GatewayContext>) {
        portal.page(router, "/keys", title: "API keys", section: "keys") { request in
            let keys: APIKeyList = try await portal.client.rpc(
                RPCCatalog.listAPIKeys,
                principal: request.principal,
                body: IDQuery()
            )
            let rows = keys.keys.sorted { $0.id < $1.id }.map { key -> HTML in
                PortalLayout.cells([
                    "<a href=\"/keys/\(PortalLayout.percentEncoded(key.id))\">\(key.id)</a>",
                    "\(key.groups.joined(separator: ", "))",
                    PortalLayout.time(micros: key.createdMicros),
                    PortalLayout.time(micros: key.expiresMicros),
                ])
            }
            return PortalLayout.table(
                caption: "API keys",
                headers: ["Key id", "Permission groups", "Created", "Expires"],
                rows: rows,
                empty: "No API keys yet."
            )
                + form(request, editing: nil)
        }
        portal.page(router, "/keys/:id", title: "Edit API key", section: "keys") { request in
            let id = request.parameter()
            let keys: APIKeyList = try await portal.client.rpc(
                RPCCatalog.listAPIKeys,
                principal: request.principal,
                body: IDQuery(id: id)
            )
            guard let key = keys.keys.first else { throw GatewayError(.notFound, "No such API key \(id)") }
            return form(request, editing: key)
                + "<p>\(PortalLayout.button(request, action: "/keys/\(PortalLayout.percentEncoded(id))/delete", label: "Delete key", style: "danger"))</p>"
        }
        portal.action(router, "/keys") { request, form in
            guard let id = form["id"] else { throw GatewayError(.badRequest, "Enter a key id.") }
            guard let ttl = try form.int("ttl", label: "Lifetime", in: 1...(100 * 365 * 86_400)) else {
                throw GatewayError(.badRequest, "Enter the key's lifetime in seconds.")
            }
            let created: APIKeyCreated = try await portal.client.rpc(
                RPCCatalog.createAPIKey,
                principal: request.principal,
                body: APIKeyCreateRequest(id: id, ttlSeconds: ttl, groups: Self.groups(form))
            )
            let privateKey = Data(created.privateKeyDER).base64EncodedString()
            return PortalOutcome(
                page: """
                    <div class="flash ok" role="status">API key \(id) created.</div>
                    <p>This is the key's private key. Copy it now: Berth keeps only the public key and cannot show it again.</p>
                    <label for="new-private-key">Private key (base64 DER, PKCS#1)<textarea id="new-private-key" class="secret" readonly rows="8">\(privateKey)</textarea></label>
                    <p><a href="/keys">Back to API keys</a></p>
                    """
            )
        }
        portal.action(router, "/keys/:id") { request, form in
            let id = request.parameter()
            let ttl = try form.int("ttl", label: "Lifetime", in: 1...(100 * 365 * 86_400))
            let _: Empty = try await portal.client.rpc(
                RPCCatalog.updateAPIKey,
                principal: request.principal,
                body: APIKeyUpdateRequest(id: id, groups: Self.groups(form), ttlSeconds: ttl)
            )
            return PortalOutcome(redirect: "/keys", message: "API key \(id) saved.")
        }
        portal.action(
            router,
            "/keys/:id/delete",
            confirm: { request, _ in
                "Delete API key \(request.parameter())? Its sessions end at once."
            },
            perform: { request, _ in
                let id = request.parameter()
                let _: Empty = try await portal.client.rpc(
                    RPCCatalog.deleteAPIKey,
                    principal: request.principal,
                    body: IDQuery(id: id)
                )
                return PortalOutcome(redirect: "/keys", message: "API key \(id) deleted.")
            }
        )
    }

    /// Groups as a comma-separated list.
    static func groups(_ form: FormData) -> [String] {
        (form["groups"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
    }

    private func form(_ request: PortalRequest, editing: APIKeyRecord?) -> HTML {
        let action = editing.map { "/keys/\(PortalLayout.percentEncoded($0.id))" } ?? "/keys"
        let idField: HTML =
            editing == nil
            ? "<label for=\"k-id\">Key id<input id=\"k-id\" name=\"id\" required></label>"
            : .empty
        let ttlHint: HTML = editing == nil ? "" : " (empty: unchanged)"
        return """
            <section class="panel" aria-labelledby="key-form-title">
            <h2 id="key-form-title">\(editing == nil ? "New API key" : "Edit \(editing?.id ?? "")")</h2>
            <form method="post" action="\(action)" class="stack">\(PortalLayout.formFields(request, back: action))
            \(idField)
            <label for="k-ttl">Lifetime in seconds\(ttlHint)<input id="k-ttl" name="ttl" type="number" min="1" \(editing == nil ? "required value=\"31536000\"" : "" as HTML)></label>
            <label for="k-groups">Permission groups, comma-separated<input id="k-groups" name="groups" value="\(editing?.groups.joined(separator: ", ") ?? "")"></label>
            <div><button type="submit" class="primary">\(editing == nil ? "Create key" : "Save")</button></div>
            </form>
            </section>
            """
    }
}
