import BerthTestSupport
import Foundation
import Testing

/// A caller hands out only what it holds: groups on keys, permissions on permission groups,
/// and resource grants. Root may do anything. Refusals are 403 and name what was missing.
@Suite struct PrivilegeEscalationTests {
    static let root = "escalation-root-token"

    @Test func aKeyCannotHandOutGroupsOrPermissionsItDoesNotHold() async throws {
        let cp = try await TestControlPlane.start { $0.authorization = true }
        let gateway = try await TestGateway.start(cp, rootToken: Self.root)
        try await PermissionHTTPTests.grant(gateway, group: "admin", PermissionHTTPTests.endpoints.map(\.permission))
        try await PermissionHTTPTests.grant(
            gateway,
            group: "keymaker",
            ["create_api_key", "update_api_key", "update_permission_groups", "list_vms"]
        )
        let keymaker = try await PermissionHTTPTests.keyClient(gateway, id: "keymaker-key", groups: ["keymaker"])

        // The attack: a key that may only create keys makes one in `admin`.
        let escalate = try await keymaker.send(
            "POST",
            "/api/v1/apikey",
            body: #"{"id":"evil","ttl":3600,"groups":["admin"]}"#
        )
        #expect(escalate.status == 403, "\(escalate.text)")
        #expect(escalate.json["status"] as? String == "FAIL")
        #expect((escalate.json["message"] as? String ?? "").contains("admin"), "\(escalate.text)")
        #expect(try await gateway.http.send("GET", "/api/v1/apikey?id=evil").json["status"] as? String == "FAIL")

        // A group not yet created is refused too: root might create it later with more rights.
        let future = try await keymaker.send(
            "POST",
            "/api/v1/apikey",
            body: #"{"id":"later","ttl":3600,"groups":["keymaker","not-yet"]}"#
        )
        #expect(future.status == 403, "\(future.text)")
        #expect((future.json["message"] as? String ?? "").contains("not-yet"))

        // Naming a key after a permission group would give it that group's rights.
        let named = try await keymaker.send("POST", "/api/v1/apikey", body: #"{"id":"admin","ttl":3600}"#)
        #expect(named.status == 403, "\(named.text)")

        // Its own group is fine to hand out.
        let own = try await keymaker.send(
            "POST",
            "/api/v1/apikey",
            body: #"{"id":"helper","ttl":3600,"groups":["keymaker"]}"#
        )
        #expect(own.status == 200, "\(own.text)")

        // Updating a key into admin is the same escalation.
        let moved = try await keymaker.send("PUT", "/api/v1/apikey", body: #"{"id":"helper","groups":["admin"]}"#)
        #expect(moved.status == 403, "\(moved.text)")
        let helper = try #require(
            try await gateway.http.send("GET", "/api/v1/apikey?id=helper").json["body"] as? [[String: Any]]
        )
        #expect(helper.first?["groups"] as? [String] == ["keymaker"])

        // Permission groups: granting a permission the caller lacks, to any group, is refused.
        let widen = try await keymaker.send(
            "PUT",
            "/admin/api/v1/permission/group/keymaker/permissions",
            body: #"["create_api_key","delete_node"]"#
        )
        #expect(widen.status == 403, "\(widen.text)")
        #expect((widen.json["message"] as? String ?? "").contains("delete_node"))
        let create = try await keymaker.send(
            "POST",
            "/admin/api/v1/permission/group",
            body: #"{"name":"mine","permissions":["list_vms","delete_node"]}"#
        )
        #expect(create.status == 403, "\(create.text)")
        let resources = try await keymaker.send(
            "POST",
            "/admin/api/v1/permission/group/keymaker/resources",
            body: #"[{"id":"some-node","type":"node","permissions":["remove"]}]"#
        )
        #expect(resources.status == 403, "\(resources.text)")
        #expect((resources.json["message"] as? String ?? "").contains("remove"))
        let shown = try await gateway.http.send("GET", "/admin/api/v1/permission/group/keymaker/permissions")
        #expect(shown.json["body"] as? [String] == ["create_api_key", "list_vms", "update_api_key", "update_permission_groups"])

        // What it holds, it may grant.
        let subset = try await keymaker.send(
            "POST",
            "/admin/api/v1/permission/group",
            body: #"{"name":"viewers","permissions":["list_vms"]}"#
        )
        #expect(subset.status == 200, "\(subset.text)")

        // Root may do anything.
        let rootKey = try await gateway.http.send(
            "POST",
            "/api/v1/apikey",
            body: #"{"id":"ops","ttl":3600,"groups":["admin","not-yet"]}"#
        )
        #expect(rootKey.status == 200, "\(rootKey.text)")
        await gateway.stop()
        await cp.stop()
    }
}
