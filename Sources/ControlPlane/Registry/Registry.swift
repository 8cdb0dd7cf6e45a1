import Persistence
import WireProtocol

/// The control plane's template registry: what templates and versions exist.
///
/// (Template content, distribution and save-image build on this; see issue 4.)
struct Registry: Sendable {
    let database: BerthDatabase

    /// One template (`id` set) or all of them, by name.
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
        return rows.map { row in
            var record = TemplateRecord()
            record.id = row.id
            record.name = row.name
            record.arch = row.arch
            record.versions = (versions[row.id] ?? []).map {
                TemplateVersionRecord(
                    number: $0.number,
                    tag: $0.tag,
                    sizeBytes: Int($0.size),
                    lastPush: Int($0.createdAt / 1_000_000)
                )
            }
            record.sizeBytes = record.versions.reduce(0) { $0 + $1.sizeBytes }
            record.lastPush = record.versions.map(\.lastPush).max() ?? Int(row.createdAt / 1_000_000)
            return record
        }
    }

    func delete(id: String) async throws {
        guard !id.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        do {
            try await database.deleteTemplate(id: id)
        } catch let error as PersistenceError {
            throw ControlPlaneError(error.code == .notFound ? .notFound : .conflict, error.reason)
        }
    }

    /// Returns the tags it deleted.
    func revert(_ request: RevertTemplateRequest) async throws -> [String] {
        guard !request.id.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        do {
            return try await database.revertTemplate(
                id: request.id,
                tag: request.tag.isEmpty ? nil : request.tag,
                number: request.number
            )
        } catch let error as PersistenceError {
            throw ControlPlaneError(error.code == .notFound ? .notFound : .conflict, error.reason)
        }
    }
}
