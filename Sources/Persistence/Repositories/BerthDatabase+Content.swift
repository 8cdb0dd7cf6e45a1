import Foundation

/// A template version to add, with its files (their chunks must be stored already).
public struct NewTemplateVersion: Sendable {
    /// An existing template; when empty, `templateName` is looked up or created.
    public var templateId: String
    public var templateName: String
    public var tag: String
    public var description: String
    /// For a template created here.
    public var arch: String
    public var cpuCores: Int
    public var ramMb: Int
    /// `templateId`, `number` and `ordinal` are filled in on commit.
    public var files: [TemplateFileRow]
    /// Delete this tag (and newer versions) first; the newest version when empty. `nil`: no revert.
    public var revertTag: String?

    public init(
        templateId: String,
        templateName: String,
        tag: String,
        description: String = "",
        arch: String = "",
        cpuCores: Int = 0,
        ramMb: Int = 0,
        files: [TemplateFileRow],
        revertTag: String? = nil
    ) {
        self.templateId = templateId
        self.templateName = templateName
        self.tag = tag
        self.description = description
        self.arch = arch
        self.cpuCores = cpuCores
        self.ramMb = ramMb
        self.files = files
        self.revertTag = revertTag
    }
}

extension BerthDatabase {
    /// Which of `hashes` are stored; those are marked as wanted at `now`.
    public func storedChunks(among hashes: [[UInt8]], now: Int64) async throws -> Set<[UInt8]> {
        try await engine.write { db in
            var found = Set<[UInt8]>()
            // Asked for by a push that will not upload it: collection must leave it for the
            // grace period, or the push's commit would find it gone. One statement finds and
            // touches a chunk.
            let touch = "UPDATE chunks SET stored_at = \(db.dialect.greatest)(stored_at, ?) WHERE hash = ?"
            for hash in hashes where try db.execute(touch, [.integer(now), .blob(hash)]) > 0 {
                found.insert(hash)
            }
            return found
        }
    }

    /// Records chunks whose files are written (idempotent). A chunk stored again counts as
    /// stored now, so collection does not take a chunk a push has just sent.
    public func recordChunks(_ chunks: [(hash: [UInt8], size: Int)], now: Int64) async throws {
        guard !chunks.isEmpty else { return }
        try await engine.write { db in
            for chunk in chunks { try Self.recordChunk(db, hash: chunk.hash, size: chunk.size, now: now) }
        }
    }

    /// Records one stored chunk; stored again, it counts as stored `now`.
    static func recordChunk(_ db: any SQLTransaction, hash: [UInt8], size: Int, now: Int64) throws {
        try db.execute(
            """
            INSERT INTO chunks (hash, size, stored_at) VALUES (?, ?, ?)
            ON CONFLICT (hash) DO UPDATE SET stored_at = \(db.dialect.greatest)(chunks.stored_at, excluded.stored_at)
            """,
            [.blob(hash), SQLValue(size), .integer(now)]
        )
    }

    /// Stores a chunk's bytes in the database and records it, in one transaction
    /// (idempotent): the registry's content on PostgreSQL, where every replica reads it.
    public func storeChunk(hash: [UInt8], data: [UInt8], now: Int64) async throws {
        try await engine.write { db in
            try db.execute("INSERT INTO chunk_data (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING", [.blob(hash), .blob(data)])
            try Self.recordChunk(db, hash: hash, size: data.count, now: now)
        }
    }

    /// A chunk's bytes stored by ``storeChunk(hash:data:now:)``; `nil` if there are none.
    public func chunkData(hash: [UInt8]) async throws -> [UInt8]? {
        try await engine.read { db in try db.value("SELECT data FROM chunk_data WHERE hash = ?", [.blob(hash)]).bytes }
    }

    /// Adds a version in one transaction and returns the template and the version.
    ///
    /// Throws ``PersistenceError/Code/notFound`` for an unknown `templateId`, and
    /// ``PersistenceError/Code/conflict`` when the tag exists or a chunk is not stored.
    public func commitTemplateVersion(
        _ new: NewTemplateVersion,
        templateIdForNew: String,
        now: Int64
    ) async throws -> (template: TemplateRow, version: TemplateVersionRow, reverted: [String]) {
        try await engine.write { db in
            // Every chunk must be stored, checked in the transaction that refers to them, so
            // collection (which takes only unreferenced chunks) cannot fall in between.
            let stored = "SELECT 1 FROM chunks WHERE hash = ?"
            var missing: [[UInt8]] = []
            for file in new.files {
                let blob = [UInt8](file.chunks)
                for start in stride(from: 0, to: blob.count - blob.count % 32, by: 32) {
                    let hash = Array(blob[start..<start + 32])
                    if try !db.exists(stored, [.blob(hash)]) { missing.append(hash) }
                }
            }
            if let first = missing.first {
                throw PersistenceError(
                    .notFound,
                    "\(missing.count) chunks are not stored (the first is \(Self.hex(first))); upload them and commit again"
                )
            }
            var template: TemplateRow
            if !new.templateId.isEmpty {
                guard let found = try db.fetch(TemplateRow.self, key: .text(new.templateId)) else {
                    throw PersistenceError(.notFound, "No such template \(new.templateId)")
                }
                template = found
            } else if let found = try db.fetch(TemplateRow.self, "WHERE name = ?", [.text(new.templateName)]).first {
                template = found
            } else {
                template = TemplateRow(
                    id: templateIdForNew,
                    name: new.templateName,
                    arch: new.arch.isEmpty ? "amd64" : new.arch,
                    cpuCores: new.cpuCores > 0 ? new.cpuCores : 2,
                    ramMb: new.ramMb > 0 ? new.ramMb : 4096,
                    createdAt: now
                )
                try db.insert(template)
            }
            var versions = try Self.versions(db, templateID: template.id)
            var reverted: [String] = []
            if let revertTag = new.revertTag {
                let doomed: [TemplateVersionRow]
                if revertTag.isEmpty {
                    doomed = Array(versions.prefix(1))
                } else if let target = versions.first(where: { $0.tag == revertTag }) {
                    doomed = versions.filter { $0.number >= target.number }
                } else {
                    doomed = []  // Anka: a revert tag that does not exist reverts nothing
                }
                for version in doomed {
                    try db.execute(
                        "DELETE FROM template_versions WHERE template_id = ? AND number = ?",
                        [.text(template.id), SQLValue(version.number)]
                    )
                }
                reverted = doomed.map(\.tag)
                versions.removeAll { version in doomed.contains { $0.number == version.number } }
            }
            guard !versions.contains(where: { $0.tag == new.tag }) else {
                throw PersistenceError(.conflict, "template \(template.name) already has a tag \(new.tag)")
            }
            for file in new.files {
                for start in stride(from: 0, to: file.chunks.count, by: 32) {
                    let hash = Array(file.chunks[file.chunks.startIndex + start..<file.chunks.startIndex + start + 32])
                    guard try db.exists(stored, [.blob(hash)]) else {
                        throw PersistenceError(.conflict, "chunk \(Self.hex(hash)) of \(file.path) is not stored")
                    }
                }
            }
            let number = (versions.first?.number ?? 0) + 1
            let version = TemplateVersionRow(
                templateId: template.id,
                number: number,
                tag: new.tag,
                size: new.files.reduce(0) { $0 + $1.size },
                createdAt: now,
                description: new.description,
                lastPush: now / 1_000_000
            )
            try db.insert(version)
            for (ordinal, file) in new.files.enumerated() {
                var row = file
                row.templateId = template.id
                row.number = number
                row.ordinal = ordinal
                try db.insert(row)
            }
            return (template, version, reverted)
        }
    }

    /// A version by tag, or the newest when `tag` is empty.
    public func templateVersion(templateID: String, tag: String) async throws -> TemplateVersionRow? {
        try await engine.read { db in
            tag.isEmpty
                ? try db.fetch(TemplateVersionRow.self, "WHERE template_id = ? ORDER BY number DESC LIMIT 1", [.text(templateID)])
                    .first
                : try db.fetch(
                    TemplateVersionRow.self,
                    "WHERE template_id = ? AND tag = ? ORDER BY number DESC LIMIT 1",
                    [.text(templateID), .text(tag)]
                ).first
        }
    }

    /// The files of one version, in order.
    public func templateFiles(templateID: String, number: Int) async throws -> [TemplateFileRow] {
        try await engine.read { db in
            try db.fetch(
                TemplateFileRow.self,
                "WHERE template_id = ? AND number = ? ORDER BY ordinal",
                [.text(templateID), SQLValue(number)]
            )
        }
    }

    /// The files of every version of a template, by version number.
    public func templateFiles(templateID: String) async throws -> [Int: [TemplateFileRow]] {
        let files = try await engine.read { db in
            try db.fetch(TemplateFileRow.self, "WHERE template_id = ? ORDER BY number, ordinal", [.text(templateID)])
        }
        return Dictionary(grouping: files, by: \.number)
    }

    /// Notes that a node fetched a version (`last_pull`, seconds).
    public func markPulled(templateID: String, number: Int, seconds: Int64) async throws {
        try await engine.write { db in
            try db.execute(
                "UPDATE template_versions SET last_pull = ? WHERE template_id = ? AND number = ?",
                [.integer(seconds), .text(templateID), SQLValue(number)]
            )
        }
    }

    /// Chunks no version refers to, stored before `storedBefore` (younger ones may belong to
    /// a push that has not committed yet). Their rows are deleted; the caller removes the files.
    ///
    /// `remove` deletes a chunk's file and runs inside the transaction, so no `recordChunks`
    /// can fall between a row's deletion and its file's: a push that stores the chunk again
    /// either comes first (and makes it young) or after (and finds the file gone).
    public func collectUnreferencedChunks(
        storedBefore: Int64,
        remove: @escaping @Sendable ([UInt8]) -> Void = { _ in }
    ) async throws -> [[UInt8]] {
        try await engine.write { db in
            let referenced = try Self.referencedChunks(db)
            let candidates = try db.values("SELECT hash FROM chunks WHERE stored_at < ?", [.integer(storedBefore)])
                .compactMap(\.bytes)
            let doomed = candidates.filter { !referenced.contains($0) }
            for hash in doomed {
                try db.execute("DELETE FROM chunks WHERE hash = ?", [.blob(hash)])
                try db.execute("DELETE FROM chunk_data WHERE hash = ?", [.blob(hash)])
            }
            // Files go last, when nothing in the transaction can fail but its commit.
            for hash in doomed { remove(hash) }
            return doomed
        }
    }

    /// Stored chunks and their bytes; and the sum of all versions' sizes.
    public func registryTotals() async throws -> (chunks: Int, storedBytes: Int64, logicalBytes: Int64) {
        try await engine.read { db in
            let row = try db.row("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM chunks")
            let logical = try db.value("SELECT COALESCE(SUM(size), 0) FROM template_versions").int64 ?? 0
            return (row?[0].int ?? 0, row?[1].int64 ?? 0, logical)
        }
    }

    /// Every chunk hash some template version's files refer to.
    static func referencedChunks(_ db: any SQLTransaction) throws -> Set<[UInt8]> {
        var referenced = Set<[UInt8]>()
        for value in try db.values("SELECT chunks FROM template_files") {
            let blob = value.bytes ?? []
            for start in stride(from: 0, to: blob.count - blob.count % 32, by: 32) {
                referenced.insert(Array(blob[start..<start + 32]))
            }
        }
        return referenced
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

extension BerthDatabase {
    /// Forgets the records of chunks whose files are gone (a restore that did not bring
    /// them back); returns how many. None of them may be referenced by a version.
    @discardableResult
    public func forgetChunks(_ hashes: [[UInt8]]) async throws -> Int {
        try await engine.write { db in
            var count = 0
            for hash in hashes { count += try db.execute("DELETE FROM chunks WHERE hash = ?", [.blob(hash)]) }
            return count
        }
    }
}
