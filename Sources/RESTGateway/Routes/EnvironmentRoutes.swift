import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WireProtocol

/// `/berth/v1/env`: environments, several VMs with an owner and a lifetime created,
/// watched and destroyed as one (docs/extensions.md). The request shape follows the TTstack
/// environment controller's (`../shared/reference/env-controller-api.txt`), with Anka's
/// field names accepted beside its own.
struct EnvironmentRoutes {
    let client: ControlPlaneClient

    func register(on router: Router<GatewayContext>) {
        router.post("/berth/v1/env") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let body = try Self.createRequest(json)
            let record: EnvironmentRecord = try await client.rpc(
                RPCCatalog.createEnvironment,
                principal: context.principal,
                body: body,
                // The create answers once every VM started, or the placement timeout passed.
                extraTime: .seconds(Int64(body.placementTimeoutSeconds ?? CreateEnvironmentRequest.defaultPlacementTimeout) + 10)
            )
            return AnkaJSON.ok(EnvironmentJSON(record))
        }
        router.get("/berth/v1/env") { _, context -> Response in
            let list: EnvironmentList = try await client.rpc(
                RPCCatalog.listEnvironments,
                principal: context.principal,
                body: IDQuery(id: "")
            )
            return AnkaJSON.ok(list.items.map(EnvironmentJSON.init))
        }
        router.get("/berth/v1/env/:id") { _, context -> Response in
            let id = try context.parameters.require("id")
            let list: EnvironmentList = try await client.rpc(
                RPCCatalog.listEnvironments,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            guard let record = list.items.first else { throw GatewayError(.notFound, "No such environment \(id)") }
            return AnkaJSON.ok(EnvironmentJSON(record))
        }
        router.delete("/berth/v1/env/:id") { _, context -> Response in
            let id = try context.parameters.require("id")
            let _: Empty = try await client.rpc(
                RPCCatalog.deleteEnvironment,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            return AnkaJSON.ok()
        }
        router.post("/berth/v1/env/:id/stop") { _, context -> Response in
            let id = try context.parameters.require("id")
            let _: Empty = try await client.rpc(RPCCatalog.stopEnvironment, principal: context.principal, body: IDQuery(id: id))
            return AnkaJSON.ok()
        }
        router.post("/berth/v1/env/:id/start") { _, context -> Response in
            let id = try context.parameters.require("id")
            let _: Empty = try await client.rpc(RPCCatalog.startEnvironment, principal: context.principal, body: IDQuery(id: id))
            return AnkaJSON.ok()
        }
        router.post("/berth/v1/env/:id/extend") { request, context -> Response in
            let id = try context.parameters.require("id")
            let json = try await RequestJSON.read(request)
            guard let seconds = try json.int("seconds") else { throw GatewayError(.badRequest, "seconds is required") }
            let record: EnvironmentRecord = try await client.rpc(
                RPCCatalog.extendEnvironment,
                principal: context.principal,
                body: ExtendEnvironmentRequest(id: id, seconds: seconds)
            )
            return AnkaJSON.ok(EnvironmentJSON(record))
        }
    }

    /// `POST /berth/v1/env`'s body. Each VM names its template as `template`, `image` or
    /// `vmid` (id or name), its CPUs as `cpu` or `vcpu`, its memory in MiB as `ram`, `mem`
    /// or `vram`.
    static func createRequest(_ json: RequestJSON) throws -> CreateEnvironmentRequest {
        var body = CreateEnvironmentRequest()
        guard let id = try json.string("id"), !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
        body.id = id
        body.owner = try json.string("owner") ?? ""
        body.sshKeys = try json.stringArray("ssh_keys") ?? []
        body.lifetimeSeconds = try json.int("lifetime")
        body.placementTimeoutSeconds = try json.int("timeout")
        guard let vms = json.fields["vms"] as? [Any], !vms.isEmpty else {
            throw GatewayError(.badRequest, "vms must be a non-empty array of VM specifications")
        }
        guard vms.count <= CreateEnvironmentRequest.maximumMembers else {
            throw GatewayError(.badRequest, "vms must list at most \(CreateEnvironmentRequest.maximumMembers) VMs")
        }
        for (index, element) in vms.enumerated() {
            guard let fields = element as? [String: Any] else {
                throw GatewayError(.badRequest, "vms[\(index)] must be an object")
            }
            let vm = RequestJSON(fields: fields)
            var member = EnvironmentMemberSpec()
            member.template = try vm.string("template") ?? vm.string("image") ?? vm.string("vmid") ?? ""
            guard !member.template.isEmpty else { throw GatewayError(.badRequest, "vms[\(index)]: template is required") }
            member.tag = try vm.string("tag") ?? ""
            member.vcpu = try vm.int("cpu") ?? vm.int("vcpu")
            member.ramMB = try vm.int("ram") ?? vm.int("mem") ?? vm.int("vram")
            member.name = try vm.string("name") ?? ""
            if let ports = vm.fields["ports"], !(ports is NSNull) {
                guard let list = ports as? [Any] else { throw GatewayError(.badRequest, "vms[\(index)]: ports must be an array of integers") }
                member.ports = try list.map {
                    guard !RequestJSON.isBoolean($0), let port = $0 as? Int, (1...65_535).contains(port) else {
                        throw GatewayError(.badRequest, "vms[\(index)]: ports must be TCP port numbers")
                    }
                    return port
                }
            }
            body.members.append(member)
        }
        return body
    }

    /// An environment in JSON: its members with their states, and the time it has left.
    struct EnvironmentJSON: Encodable {
        let id: String
        let owner: String
        let created_by: String
        let state: String
        let message: String
        let lifetime: Int
        let created_at: String
        let expires_at: String
        let ended_at: String?
        /// Seconds until it expires; 0 once it has ended.
        let time_left: Int
        let ssh_keys: [String]
        let vms: [MemberJSON]

        init(_ record: EnvironmentRecord) {
            id = record.id
            owner = record.owner
            created_by = record.createdBy
            state = record.state
            message = record.message
            lifetime = record.lifetimeSeconds
            created_at = AnkaJSON.timestamp(micros: record.createdAtMicros)
            expires_at = AnkaJSON.timestamp(micros: record.expiresAtMicros)
            ended_at = record.endedAtMicros > 0 ? AnkaJSON.timestamp(micros: record.endedAtMicros) : nil
            let live = ["creating", "running", "stopped"].contains(record.state)
            let now = Int(Date().timeIntervalSince1970 * 1_000_000)
            time_left = live ? max(0, (record.expiresAtMicros - now) / 1_000_000) : 0
            ssh_keys = record.sshKeys
            vms = record.members.map(MemberJSON.init)
        }
    }

    /// One member: its instance, state, node, stop reason, and its ports with the tunnel
    /// that reaches each (`berth vm port-forward`, or the HTTP upgrade it uses).
    struct MemberJSON: Encodable {
        let instance_id: String
        let name: String
        let instance_state: String
        let node_id: String?
        let ip: String?
        let stop_reason: String?
        let ports: [PortJSON]

        struct PortJSON: Encodable {
            let port: Int
            let tunnel: String
        }

        init(_ record: InstanceRecord) {
            instance_id = record.instanceID
            name = record.name
            instance_state = record.state.description
            node_id = record.nodeID.isEmpty ? nil : record.nodeID
            ip = record.vmInfo.map(\.ip).flatMap { $0.isEmpty ? nil : $0 }
            stop_reason = record.stopReason.isEmpty ? nil : record.stopReason
            let guestPorts = record.vmInfo?.portForwarding.map(\.guestPort) ?? []
            ports = guestPorts.map {
                PortJSON(port: $0, tunnel: "/berth/v1/vm/port-forward?id=\(record.instanceID)&port=\($0)")
            }
        }
    }
}
