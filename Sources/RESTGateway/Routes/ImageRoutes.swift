import Foundation
import Hummingbird
import WireProtocol

/// `POST /api/v1/image` (save image) and `GET /api/v1/image` (its requests).
struct ImageRoutes {
    let client: ControlPlaneClient
    let registryAddress: String

    func register(on router: Router<GatewayContext>) {
        router.post("/api/v1/image") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            var body = SaveImageRequest()
            body.instanceID = try json.string("id") ?? ""
            body.tag = try json.string("tag") ?? ""
            body.newTemplateName = try json.string("new_template_name") ?? ""
            body.targetTemplateID = try json.string("target_vm_id") ?? ""
            body.description = try json.string("description") ?? ""
            body.suspend = try json.bool("suspend") ?? true
            body.revertBeforePush = try json.bool("revert_before_push") ?? false
            body.revertTag = try json.string("revert_tag") ?? ""
            body.doSuspendSanityTest = try json.bool("do_suspend_sanity_test") ?? false
            body.cancelOnScriptFailure = try json.bool("cancel_on_script_failure") ?? false
            if let script = try json.string("script"), !script.isEmpty {
                guard let decoded = Data(base64Encoded: script.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                    throw GatewayError(.badRequest, "script must be base64")
                }
                body.script = [UInt8](decoded)
            }
            guard !body.instanceID.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            guard !body.tag.isEmpty else { throw GatewayError(.badRequest, "tag is required") }
            guard !body.targetTemplateID.isEmpty || !body.newTemplateName.isEmpty else {
                throw GatewayError(.badRequest, "new_template_name is required when target_vm_id is not given")
            }
            let id: IDQuery = try await client.rpc(.saveImage, principal: context.principal, body: body)
            return AnkaJSON.ok(["request_id": id.id])
        }
        router.get("/api/v1/image") { request, context -> Response in
            let id = request.uri.queryParameters.get("id") ?? ""
            let list: ImageRequestList = try await client.rpc(
                .listImageRequests,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            if !id.isEmpty, let one = list.requests.first { return AnkaJSON.ok(image(one)) }
            return AnkaJSON.ok(list.requests.map(image))
        }
    }

    /// Anka's save-image request shape (its `request` keys are Go field names).
    func image(_ record: ImageRequestRecord) -> [String: Any] {
        let request = record.request
        return [
            "id": record.id,
            "status": record.status,
            "request": [
                "RequestId": record.id,
                "Priority": 0,
                "Timestamp": record.createdAtMicros / 1_000_000,
                "ReserveExpiryTimestamp": 0,
                "RegistryAddr": registryAddress,
                "VMID": record.templateID,
                "InstanceID": request.instanceID,
                "NodeID": record.nodeID,
                "TemplateID": request.targetTemplateID,
                "NewTemplateName": request.newTemplateName,
                "Tag": request.tag,
                "Description": request.description,
                "Suspend": request.suspend,
                "Script": request.script.isEmpty ? "" : Data(request.script).base64EncodedString(),
                "DoSuspendTest": request.doSuspendSanityTest,
                "RevertBeforePush": request.revertBeforePush,
                "RevertTag": request.revertTag,
                "CancelOnScriptFailure": request.cancelOnScriptFailure,
            ] as [String: Any],
            "error": record.error.isEmpty ? NSNull() : ["Message": record.error, "Code": 0] as [String: Any],
            "script_result": record.scriptResult.map { InstanceJSON.scriptResult($0) } ?? NSNull(),
            "template_id": record.templateID,
            "uploaded_bytes": record.bytesUploaded,
        ]
    }
}
