import Foundation
import Persistence
import WireProtocol

/// The control plane's template registry: templates, their versions, and each version's
/// files as content-addressed chunks in a ``ContentStore``.
struct Registry: Sendable {
    let database: BerthDatabase
    let content: ContentStore

    /// One template (`id` set, with each version's file paths) or all of them, by name.
    func list(id: String) async throws -> [TemplateRecord] {
        let rows: [TemplateRow]
        if !id.isEmpty {
            guard let row = try await database.template(id: id) else {
                throw ControlPlaneError.notFound("No such template \(id)")
            }
            rows = [row]
        } else {
            rows = try await database.templates()
        }
        let versions = try await database.allTemplateVersions()
        let files = id.isEmpty ? [:] : try await database.templateFiles(templateID: id)
        return rows.map { row in
            var record = TemplateRecord()
            record.id = row.id
            record.name = row.name
            record.arch = row.arch
            record.versions = (versions[row.id] ?? []).map {
                TemplateVersionRecord($0, files: (files[$0.number] ?? []).map(\.path))
            }
            record.sizeBytes = record.versions.reduce(0) { $0 + $1.sizeBytes }
            record.lastPush = record.versions.map(\.lastPush).max() ?? Int(row.createdAt / 1_000_000)
            record.lastPull = record.versions.map(\.lastPull).max() ?? 0
            return record
        }
    }

    func delete(id: String) async throws {
        guard !id.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        do {
            try await database.deleteTemplate(id: id)
        } catch let error as PersistenceError {
            throw ControlPlaneError(error)
        }
        try await content.collectGarbage()
    }

    /// Returns the tags it deleted.
    func revert(_ request: RevertTemplateRequest) async throws -> [String] {
        guard !request.id.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        let tags: [String]
        do {
            tags = try await database.revertTemplate(
                id: request.id,
                tag: request.tag.isEmpty ? nil : request.tag,
                number: request.number
            )
        } catch let error as PersistenceError {
            throw ControlPlaneError(error)
        }
        try await content.collectGarbage()
        return tags
    }

    /// The manifest of a version (`tag`, or the newest), noting the pull (`last_pull`).
    func manifest(templateID: String, tag: String) async throws -> TemplateManifest {
        guard let template = try await database.template(id: templateID) else {
            throw ControlPlaneError.notFound("No such template \(templateID)")
        }
        guard let version = try await database.templateVersion(templateID: templateID, tag: tag) else {
            throw ControlPlaneError.notFound("template \(template.name) has no tag \(tag)")
        }
        let files = try await database.templateFiles(templateID: templateID, number: version.number)
        try await database.markPulled(
            templateID: templateID,
            number: version.number,
            seconds: BerthDatabase.nowMicros() / 1_000_000
        )
        return TemplateManifest(
            templateID: templateID,
            tag: version.tag,
            number: version.number,
            files: try files.map { row in
                ManifestFile(
                    path: row.path,
                    size: Int(row.size),
                    chunkSize: row.chunkSize,
                    chunks: try ChunkHash.split([UInt8](row.chunks))
                )
            },
            templateName: template.name
        )
    }

    /// Adds a version whose chunks are stored; `revertTag` as in ``NewTemplateVersion``.
    func commit(_ request: CommitVersionRequest, revertTag: String? = nil) async throws -> TemplateRecord {
        guard !request.tag.isEmpty else { throw ControlPlaneError.badRequest("tag is required") }
        guard !request.templateID.isEmpty || !request.templateName.isEmpty else {
            throw ControlPlaneError.badRequest("a template id or a new template name is required")
        }
        var seen = Set<String>()
        for file in request.manifest.files {
            guard ManifestFile.isSafe(file.path) else {
                throw ControlPlaneError.badRequest("file path \(file.path) must be relative, without . or ..")
            }
            guard seen.insert(file.path).inserted else {
                throw ControlPlaneError.badRequest("file \(file.path) appears twice")
            }
            guard file.size == 0 || (1...ContentStore.maxChunkSize).contains(file.chunkSize) else {
                throw ControlPlaneError.badRequest("file \(file.path) has chunk size \(file.chunkSize)")
            }
            let expected = file.size == 0 ? 0 : (file.size + file.chunkSize - 1) / file.chunkSize
            guard file.size >= 0, file.chunks.count == expected else {
                throw ControlPlaneError.badRequest(
                    "file \(file.path) of \(file.size) bytes in chunks of \(file.chunkSize) needs \(expected) chunks, not \(file.chunks.count)"
                )
            }
        }
        let new = NewTemplateVersion(
            templateId: request.templateID,
            templateName: request.templateName,
            tag: request.tag,
            description: request.description,
            arch: request.arch,
            cpuCores: request.cpuCores,
            ramMb: request.ramMB,
            files: request.manifest.files.map {
                TemplateFileRow(
                    templateId: "",
                    number: 0,
                    ordinal: 0,
                    path: $0.path,
                    size: Int64($0.size),
                    chunkSize: max($0.chunkSize, 1),
                    chunks: Data($0.chunks.flatMap(\.bytes))
                )
            },
            revertTag: revertTag
        )
        let committed: (template: TemplateRow, version: TemplateVersionRow, reverted: [String])
        do {
            committed = try await database.commitTemplateVersion(
                new,
                templateIdForNew: RandomID.uuid(),
                now: BerthDatabase.nowMicros()
            )
        } catch let error as PersistenceError {
            throw ControlPlaneError(error)
        }
        if !committed.reverted.isEmpty { try await content.collectGarbage() }
        var record = TemplateRecord()
        record.id = committed.template.id
        record.name = committed.template.name
        record.arch = committed.template.arch
        record.versions = [TemplateVersionRecord(committed.version, files: new.files.map(\.path))]
        record.sizeBytes = Int(committed.version.size)
        record.lastPush = Int(committed.version.lastPush)
        return record
    }

    /// The registry's storage: file system, stored chunk bytes, logical bytes.
    func disk() async throws -> RegistryDisk {
        let totals = try await database.registryTotals()
        let fileSystem = content.fileSystem()
        var disk = RegistryDisk()
        disk.totalBytes = fileSystem.total
        disk.freeBytes = fileSystem.free
        disk.storedBytes = Int(totals.storedBytes)
        disk.logicalBytes = Int(totals.logicalBytes)
        disk.chunkCount = totals.chunks
        return disk
    }
}

extension TemplateVersionRecord {
    init(_ row: TemplateVersionRow, files: [String]) {
        self.init(
            number: row.number,
            tag: row.tag,
            description: row.description,
            sizeBytes: Int(row.size),
            lastPull: Int(row.lastPull),
            // Seeded versions were never pushed: their creation time stands in.
            lastPush: Int(row.lastPush != 0 ? row.lastPush : row.createdAt / 1_000_000)
        )
        self.files = files
    }
}
