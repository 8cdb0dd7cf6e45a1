import GRDB

extension BerthDatabase {
    /// Adds a template with its versions (used by dev mode's seed and by tests).
    public func insertTemplate(_ template: TemplateRow, versions: [TemplateVersionRow]) async throws {
        try await writer.write { db in
            try template.insert(db)
            for version in versions { try version.insert(db) }
        }
    }

    public func template(id: String) async throws -> TemplateRow? {
        try await writer.read { db in try TemplateRow.fetchOne(db, key: id) }
    }

    public func templates() async throws -> [TemplateRow] {
        try await writer.read { db in try TemplateRow.order(Column("name")).fetchAll(db) }
    }

    /// Every version of every template, newest first within a template.
    public func allTemplateVersions() async throws -> [String: [TemplateVersionRow]] {
        try await writer.read { db in
            Dictionary(
                grouping: try TemplateVersionRow.order(Column("number").desc).fetchAll(db),
                by: \.templateId
            )
        }
    }

    /// Deletes a template and its versions. Throws ``PersistenceError/Code/notFound``, or
    /// ``PersistenceError/Code/conflict`` while instances that are not terminated use it.
    public func deleteTemplate(id: String) async throws {
        try await writer.write { db in
            guard try TemplateRow.exists(db, key: id) else {
                throw PersistenceError(.notFound, "No such template \(id)")
            }
            let users =
                try InstanceRow
                .filter(Column("template_id") == id && Column("state") != "Terminated")
                .fetchCount(db)
            guard users == 0 else {
                throw PersistenceError(
                    .conflict,
                    "template \(id) is used by \(users) instance(s) that are not terminated"
                )
            }
            _ = try TemplateRow.deleteOne(db, key: id)
        }
    }

    /// Deletes the versions newer than the one with `tag` or `number`, or only the newest
    /// when neither is given. Returns the deleted versions' tags. The last version stays.
    public func revertTemplate(id: String, tag: String?, number: Int?) async throws -> [String] {
        try await writer.write { db in
            guard try TemplateRow.exists(db, key: id) else {
                throw PersistenceError(.notFound, "No such template \(id)")
            }
            let versions = try TemplateVersionRow.filter(Column("template_id") == id).order(Column("number").desc)
                .fetchAll(db)
            let doomed: [TemplateVersionRow]
            if let tag, !tag.isEmpty {
                guard let target = versions.first(where: { $0.tag == tag }) else {
                    throw PersistenceError(.notFound, "No such tag \(tag)")
                }
                doomed = versions.filter { $0.number > target.number }
            } else if let number {
                guard let target = versions.first(where: { $0.number == number }) else {
                    throw PersistenceError(.notFound, "No such version \(number)")
                }
                doomed = versions.filter { $0.number > target.number }
            } else {
                guard versions.count > 1 else {
                    throw PersistenceError(.conflict, "template \(id) has one version; delete the template instead")
                }
                doomed = Array(versions.prefix(1))
            }
            for version in doomed {
                try db.execute(
                    sql: "DELETE FROM template_versions WHERE template_id = ? AND number = ?",
                    arguments: [id, version.number]
                )
            }
            return doomed.map(\.tag)
        }
    }

    /// Versions of a template, newest first.
    public func templateVersions(templateID: String) async throws -> [TemplateVersionRow] {
        try await writer.read { db in try Self.versions(db, templateID: templateID) }
    }

    /// A template and its versions (newest first) from one read, as every start needs
    /// them; `nil` if there is no such template.
    public func templateWithVersions(id: String) async throws -> (template: TemplateRow, versions: [TemplateVersionRow])? {
        try await writer.read { db in
            guard let template = try TemplateRow.fetchOne(db, key: id) else { return nil }
            return (template, try Self.versions(db, templateID: id))
        }
    }

    private static func versions(_ db: Database, templateID: String) throws -> [TemplateVersionRow] {
        try TemplateVersionRow
            .filter(Column("template_id") == templateID)
            .order(Column("number").desc)
            .fetchAll(db)
    }
}
