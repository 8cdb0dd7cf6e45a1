extension BerthDatabase {
    /// Adds a template with its versions (used by dev mode's seed and by tests).
    public func insertTemplate(_ template: TemplateRow, versions: [TemplateVersionRow]) async throws {
        try await engine.write { db in
            try db.insert(template)
            for version in versions { try db.insert(version) }
        }
    }

    public func template(id: String) async throws -> TemplateRow? {
        try await engine.read { db in try db.fetch(TemplateRow.self, key: .text(id)) }
    }

    public func templates() async throws -> [TemplateRow] {
        try await engine.read { db in try db.fetch(TemplateRow.self, "ORDER BY name") }
    }

    /// Every version of every template, newest first within a template.
    public func allTemplateVersions() async throws -> [String: [TemplateVersionRow]] {
        let versions = try await engine.read { db in try db.fetch(TemplateVersionRow.self, "ORDER BY number DESC") }
        return Dictionary(grouping: versions, by: \.templateId)
    }

    /// Deletes a template and its versions. Throws ``PersistenceError/Code/notFound``, or
    /// ``PersistenceError/Code/conflict`` while instances that are not terminated use it.
    public func deleteTemplate(id: String) async throws {
        try await engine.write { db in
            guard try db.exists(TemplateRow.self, key: .text(id)) else {
                throw PersistenceError(.notFound, "No such template \(id)")
            }
            let users =
                try db.value(
                    "SELECT COUNT(*) FROM instances WHERE template_id = ? AND state <> 'Terminated'",
                    [.text(id)]
                ).int ?? 0
            guard users == 0 else {
                throw PersistenceError(
                    .conflict,
                    "template \(id) is used by \(users) instance(s) that are not terminated"
                )
            }
            try db.delete(TemplateRow.self, key: .text(id))
        }
    }

    /// Deletes the versions newer than the one with `tag` or `number`, or only the newest
    /// when neither is given. Returns the deleted versions' tags. The last version stays.
    public func revertTemplate(id: String, tag: String?, number: Int?) async throws -> [String] {
        try await engine.write { db in
            guard try db.exists(TemplateRow.self, key: .text(id)) else {
                throw PersistenceError(.notFound, "No such template \(id)")
            }
            let versions = try Self.versions(db, templateID: id)
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
                    "DELETE FROM template_versions WHERE template_id = ? AND number = ?",
                    [.text(id), SQLValue(version.number)]
                )
            }
            return doomed.map(\.tag)
        }
    }

    /// Versions of a template, newest first.
    public func templateVersions(templateID: String) async throws -> [TemplateVersionRow] {
        try await engine.read { db in try Self.versions(db, templateID: templateID) }
    }

    /// A template and its versions (newest first) from one read, as every start needs
    /// them; `nil` if there is no such template.
    public func templateWithVersions(id: String) async throws -> (template: TemplateRow, versions: [TemplateVersionRow])? {
        try await engine.read { db in
            guard let template = try db.fetch(TemplateRow.self, key: .text(id)) else { return nil }
            return (template, try Self.versions(db, templateID: id))
        }
    }

    static func versions(_ db: any SQLTransaction, templateID: String) throws -> [TemplateVersionRow] {
        try db.fetch(TemplateVersionRow.self, "WHERE template_id = ? ORDER BY number DESC", [.text(templateID)])
    }
}
