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

    /// Versions of a template, newest first.
    public func templateVersions(templateID: String) async throws -> [TemplateVersionRow] {
        try await writer.read { db in
            try TemplateVersionRow
                .filter(Column("template_id") == templateID)
                .order(Column("number").desc)
                .fetchAll(db)
        }
    }
}
