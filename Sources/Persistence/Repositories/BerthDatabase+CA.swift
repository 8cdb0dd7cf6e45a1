extension BerthDatabase {
    /// The shared CA, if one was stored.
    public func caMaterial() async throws -> CAMaterialRow? {
        try await engine.read { db in try db.fetch(CAMaterialRow.self, key: .integer(1)) }
    }

    /// Stores the shared CA unless one is stored already, and returns the one stored: when
    /// two replicas start at once with different CAs, the first to commit wins and the other
    /// learns of it here.
    public func storeCAMaterial(_ material: CAMaterialRow) async throws -> CAMaterialRow {
        try await engine.write { db in
            var row = material
            row.id = 1
            if let stored = try db.fetch(CAMaterialRow.self, key: .integer(1)) { return stored }
            try db.insert(row)
            return row
        }
    }
}
