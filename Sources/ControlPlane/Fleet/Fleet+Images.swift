import Foundation
import Persistence
import WireProtocol

/// Save image (Anka `POST/GET /api/v1/image`): a running instance's content becomes a new
/// version of a template.
///
/// The node runs the script, stops the instance, uploads the chunks the registry lacks and
/// reports the manifest (``ImageReport``); the control plane then commits the version and
/// terminates the instance. If anything fails the instance keeps running.
extension Fleet {
    func saveImage(_ request: SaveImageRequest) async throws -> String {
        guard !request.instanceID.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        guard !request.tag.isEmpty else { throw ControlPlaneError.badRequest("tag is required") }
        guard let instance = instances[request.instanceID] else {
            throw ControlPlaneError.notFound("No such instance \(request.instanceID)")
        }
        guard instance.state == "Started", let nodeID = instance.nodeId else {
            throw ControlPlaneError(
                .conflict,
                "instance \(instance.id) is \(instance.state); only a Started instance can be saved"
            )
        }
        if !request.targetTemplateID.isEmpty {
            guard try await database.template(id: request.targetTemplateID) != nil else {
                throw ControlPlaneError.notFound("No such template \(request.targetTemplateID)")
            }
            let versions = try await database.templateVersions(templateID: request.targetTemplateID)
            // The versions revert_before_push will delete (as the commit does) free their tags.
            var reverted: [TemplateVersionRow] = []
            if request.revertBeforePush {
                if request.revertTag.isEmpty {
                    reverted = Array(versions.prefix(1))
                } else if let target = versions.first(where: { $0.tag == request.revertTag }) {
                    reverted = versions.filter { $0.number >= target.number }
                }
            }
            let remaining = versions.filter { version in !reverted.contains { $0.number == version.number } }
            if remaining.contains(where: { $0.tag == request.tag }) {
                throw ControlPlaneError(
                    .conflict,
                    "template \(request.targetTemplateID) already has a tag \(request.tag)"
                )
            }
        } else {
            guard !request.newTemplateName.isEmpty else {
                throw ControlPlaneError.badRequest("new_template_name is required when target_vm_id is not given")
            }
            if try await database.templates().contains(where: { $0.name == request.newTemplateName }) {
                throw ControlPlaneError(
                    .conflict,
                    "a template named \(request.newTemplateName) exists; save to it with target_vm_id"
                )
            }
        }
        if try await database.pendingImageRequest(instanceID: instance.id) != nil {
            throw ControlPlaneError(.conflict, "instance \(instance.id) is already being saved")
        }
        let id = RandomID.uuid()
        let now = BerthDatabase.nowMicros()
        try await database.insertImageRequest(
            ImageRequestRow(
                id: id,
                instanceId: instance.id,
                nodeId: nodeID,
                status: "pending",
                request: request.encodedBytes(),
                createdAt: now
            )
        )
        let spec = SaveImageSpec(
            requestID: id,
            script: request.script,
            cancelOnScriptFailure: request.cancelOnScriptFailure,
            suspend: request.suspend
        )
        // The instance (and its node) may have gone while the request was stored.
        guard let current = instances[instance.id], current.state == "Started", current.nodeId == nodeID else {
            throw ControlPlaneError(.conflict, "instance \(instance.id) is no longer Started")
        }
        let ticket = queueCommand(
            nodeID: nodeID,
            instanceID: instance.id,
            kind: "save_image",
            payload: spec.encodedBytes(),
            now: now
        )
        try await journal.durable(ticket)
        await flushCommands(nodeID: nodeID)
        logger.info("save image requested", metadata: ["id": "\(id)", "instance": "\(instance.id)"])
        return id
    }

    func listImageRequests(id: String) async throws -> [ImageRequestRecord] {
        let rows = try await database.imageRequests(id: id)
        if !id.isEmpty && rows.isEmpty { throw ControlPlaneError.notFound("No such save image request \(id)") }
        return rows.map(ImageRequestRecord.init)
    }

    /// The node finished its part of a save image.
    func imageReported(nodeID: String, _ report: ImageReport) async {
        do {
            guard var row = try await database.imageRequests(id: report.requestID).first, row.status == "pending",
                row.nodeId == nodeID
            else { return }
            let request = try SaveImageRequest(bytes: row.request)
            row.scriptResult = report.scriptResult?.encodedBytes()
            row.bytesUploaded = Int64(report.bytesUploaded)
            guard report.error.isEmpty, var manifest = report.manifest else {
                row.status = "error"
                row.error = report.error.isEmpty ? "the node sent no content" : report.error
                try await database.updateImageRequest(row)
                return
            }
            var commit = CommitVersionRequest()
            commit.templateID = request.targetTemplateID
            commit.templateName = request.newTemplateName
            commit.tag = request.tag
            commit.description = request.description
            if let source = try await database.template(
                id: instances[row.instanceId]?.templateId ?? ""
            ) {
                commit.arch = source.arch
                commit.cpuCores = source.cpuCores
                commit.ramMB = source.ramMb
            }
            manifest.templateID = request.targetTemplateID
            commit.manifest = manifest
            do {
                let record = try await registry.commit(
                    commit,
                    revertTag: request.revertBeforePush && !request.targetTemplateID.isEmpty ? request.revertTag : nil
                )
                row.status = "done"
                row.templateId = record.id
                try await database.updateImageRequest(row)
                logger.info(
                    "image saved",
                    metadata: ["id": "\(row.id)", "template": "\(record.name)", "tag": "\(request.tag)"]
                )
                // Anka: after a successful push the instance no longer exists, unless its
                // delete lock keeps it (the image is saved either way).
                if instances[row.instanceId]?.deleteLock == true {
                    logger.notice(
                        "image saved; instance kept: it has a delete lock",
                        metadata: ["id": "\(row.id)", "instance": "\(row.instanceId)"]
                    )
                } else {
                    try await terminateInstance(id: row.instanceId, by: "save image \(row.id)")
                }
            } catch {
                row.status = "error"
                row.error = (error as? ControlPlaneError)?.message ?? "\(error)"
                try await database.updateImageRequest(row)
                // The node stopped the instance to save it; start it again for review.
                try? await restartInstance(id: row.instanceId)
            }
        } catch {
            logger.error("could not record a save image result", metadata: ["error": "\(error)"])
        }
    }
}

extension ImageRequestRecord {
    init(_ row: ImageRequestRow) {
        self.init()
        id = row.id
        status = row.status
        request = (try? SaveImageRequest(bytes: row.request)) ?? SaveImageRequest()
        nodeID = row.nodeId
        templateID = row.templateId
        error = row.error
        if let bytes = row.scriptResult { scriptResult = try? ScriptResult(bytes: bytes) }
        createdAtMicros = Int(row.createdAt)
        bytesUploaded = Int(row.bytesUploaded)
    }
}

extension Fleet {
    /// Deletes a template. Storage refuses while an instance that has not ended uses it,
    /// and deletes the ended ones with it; memory forgets them too.
    func deleteTemplate(id: String) async throws {
        try await registry.delete(id: id)
        for row in instances.rows.values where row.templateId == id { instances.remove(row.id) }
    }
}
