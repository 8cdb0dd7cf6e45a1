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
            let id: IDQuery = try await client.rpc(RPCCatalog.saveImage, principal: context.principal, body: body)
            return AnkaJSON.ok(RequestIDJSON(request_id: id.id))
        }
        router.get("/api/v1/image") { request, context -> Response in
            let id = request.uri.queryParameters.get("id") ?? ""
            let list: ImageRequestList = try await client.rpc(
                RPCCatalog.listImageRequests,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            if !id.isEmpty, let one = list.requests.first { return AnkaJSON.ok(image(one)) }
            return AnkaJSON.ok(list.requests.map(image))
        }
    }

    /// Anka's save-image request shape (its `request` keys are Go field names).
    func image(_ record: ImageRequestJSON.Record) -> ImageRequestJSON {
        ImageRequestJSON(record: record, registryAddress: registryAddress)
    }
}

/// A save-image request as Anka shows it: `error` and `script_result` are `null` when unset.
struct ImageRequestJSON: Encodable {
    typealias Record = ImageRequestRecord

    let record: ImageRequestRecord
    let registryAddress: String

    struct Request: Encodable {
        let RequestId: String
        let Priority: Int
        let Timestamp: Int
        let ReserveExpiryTimestamp: Int
        let RegistryAddr: String
        let VMID: String
        let InstanceID: String
        let NodeID: String
        let TemplateID: String
        let NewTemplateName: String
        let Tag: String
        let Description: String
        let Suspend: Bool
        let Script: String
        let DoSuspendTest: Bool
        let RevertBeforePush: Bool
        let RevertTag: String
        let CancelOnScriptFailure: Bool
    }

    struct Failure: Encodable {
        let Message: String
        let Code: Int
    }

    enum CodingKeys: String, CodingKey {
        case id, status, request, error
        case scriptResult = "script_result"
        case templateID = "template_id"
        case uploadedBytes = "uploaded_bytes"
    }

    func encode(to encoder: any Encoder) throws {
        let request = record.request
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(record.id, forKey: .id)
        try c.encode(record.status, forKey: .status)
        try c.encode(
            Request(
                RequestId: record.id,
                Priority: 0,
                Timestamp: record.createdAtMicros / 1_000_000,
                ReserveExpiryTimestamp: 0,
                RegistryAddr: registryAddress,
                VMID: record.templateID,
                InstanceID: request.instanceID,
                NodeID: record.nodeID,
                TemplateID: request.targetTemplateID,
                NewTemplateName: request.newTemplateName,
                Tag: request.tag,
                Description: request.description,
                Suspend: request.suspend,
                Script: request.script.isEmpty ? "" : Data(request.script).base64EncodedString(),
                DoSuspendTest: request.doSuspendSanityTest,
                RevertBeforePush: request.revertBeforePush,
                RevertTag: request.revertTag,
                CancelOnScriptFailure: request.cancelOnScriptFailure
            ),
            forKey: .request
        )
        if record.error.isEmpty {
            try c.encodeNil(forKey: .error)
        } else {
            try c.encode(Failure(Message: record.error, Code: 0), forKey: .error)
        }
        if let result = record.scriptResult {
            try c.encode(ScriptResultJSON(result, nullWhenNoErrors: true), forKey: .scriptResult)
        } else {
            try c.encodeNil(forKey: .scriptResult)
        }
        try c.encode(record.templateID, forKey: .templateID)
        try c.encode(record.bytesUploaded, forKey: .uploadedBytes)
    }
}
