import BerthTestSupport
import Testing
import WireProtocol

@testable import ControlPlane

/// The control plane's dispatch follows ``RPCCatalog``: it serves every declared method,
/// no other, and checks each one's declared permission before its handler runs. Real
/// control plane, real mTLS gateway connection.
@Suite struct RPCDispatchTests {
    @Test func everyCataloguedMethodIsServedAndNoOther() async throws {
        let cp = try await TestControlPlane.start()
        let gateway = try await cp.gatewayClient()
        for rpc in RPCCatalog.all {
            // An empty body: some methods refuse it, none may be unknown.
            let answer = try await gateway.client.call(rpc.method, principal: .root, body: Empty())
            #expect(answer.status != .notImplemented, "\(rpc.name): \(answer.message)")
        }
        let unknown = try await gateway.client.call(RPCMethod(rawValue: 9_999), principal: .root, body: Empty())
        #expect(unknown.status == .notImplemented)
        await gateway.stop()
        await cp.stop()
    }

    /// A handler can only be registered against an ``RPC``; this holds the routes to the
    /// catalogue's list, so no declared method lacks a handler and no handler is missing
    /// from the list (and so from the protocol document and the permission test below).
    @Test func theRoutesCoverExactlyTheCatalogue() async throws {
        let cp = try await TestControlPlane.start()
        let routes = RPCRoutes(
            fleet: cp.controlPlane.fleet,
            keys: cp.controlPlane.keys,
            authorizer: cp.controlPlane.authorizer,
            eventLog: cp.controlPlane.eventLog,
            accessTokens: AccessTokens(database: cp.database),
            enrollment: cp.controlPlane.enrollment,
            configuration: cp.controlPlane.configuration
        )
        let table = routes.table()
        #expect(Set(table.entries.keys) == Set(RPCCatalog.all.map(\.method)))
        for (method, entry) in table.entries {
            #expect(RPCCatalog.byMethod[method] == entry.descriptor)
        }
        await cp.stop()
    }

    @Test func eachMethodNeedsItsDeclaredPermission() async throws {
        let cp = try await TestControlPlane.start { $0.authorization = true }
        let gateway = try await cp.gatewayClient()
        // One permission group per controller permission, holding only that permission.
        let permissions = Set(
            RPCCatalog.all.compactMap { rpc -> String? in
                if case .controller(let name) = rpc.permission { return name }
                return nil
            }
        )
        for permission in permissions {
            let created = try await gateway.client.call(
                RPCCatalog.createPermissionGroup,
                principal: .root,
                body: PermissionGroupRecord(name: "holds-\(permission)", permissions: [permission])
            )
            #expect(created.status == .ok, "\(permission) is not a permission the catalogue knows: \(created.message)")
        }
        let nobody = Principal(kind: .certificate, name: "nobody")
        let everything = Principal(kind: .certificate, name: "everyone", groups: permissions.map { "holds-\($0)" })
        for rpc in RPCCatalog.all {
            let bare = try await gateway.client.call(rpc.method, principal: nobody, body: Empty())
            let anonymous = try await gateway.client.call(rpc.method, principal: .anonymous, body: Empty())
            switch rpc.permission {
            case .none:
                // No check: every caller gets the answer root gets (here, the handler's refusal
                // of an empty key id).
                let root = try await gateway.client.call(rpc.method, principal: .root, body: Empty())
                #expect(bare == root && anonymous == root, "\(rpc.name): \(bare.message), \(anonymous.message)")
            case .authenticated:
                #expect(bare.status != .forbidden && bare.status != .unauthenticated, "\(rpc.name): \(bare.message)")
                #expect(anonymous.status == .unauthenticated, "\(rpc.name)")
            case .root:
                let all = try await gateway.client.call(rpc.method, principal: everything, body: Empty())
                #expect(all.status == .forbidden && all.message.contains("root token"), "\(rpc.name): \(all.message)")
            case .controller(let permission):
                #expect(bare.status == .forbidden, "\(rpc.name) without \(permission): \(bare.status)")
                #expect(bare.message.contains("missing permission \(permission)"), "\(rpc.name): \(bare.message)")
                #expect(anonymous.status == .unauthenticated, "\(rpc.name)")
                let holder = Principal(kind: .certificate, name: "holder", groups: ["holds-\(permission)"])
                let held = try await gateway.client.call(rpc.method, principal: holder, body: Empty())
                #expect(
                    !(held.status == .forbidden && held.message.contains("missing permission")),
                    "\(rpc.name) with \(permission): \(held.message)"
                )
            }
        }
        await gateway.stop()
        await cp.stop()
    }
}
