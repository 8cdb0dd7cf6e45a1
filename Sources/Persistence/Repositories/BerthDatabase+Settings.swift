import Foundation

extension BerthDatabase {
    /// The stored secret named `key` (in `settings`); if there is none, stores `make()` first.
    ///
    /// Read and insert share one transaction, so every caller (every gateway asking at once)
    /// gets the same value, made once per deployment.
    public func secret(_ key: String, orInsert make: @escaping @Sendable () -> [UInt8]) async throws -> [UInt8] {
        try await engine.write { db in
            if let stored = try db.value("SELECT value FROM settings WHERE key = ?", [.text(key)]).string,
                let bytes = Data(base64Encoded: stored)
            {
                return Array(bytes)
            }
            let value = make()
            try Self.putSetting(db, key, Data(value).base64EncodedString())
            return value
        }
    }

    public func setting(_ key: String) async throws -> String? {
        try await engine.read { db in try db.value("SELECT value FROM settings WHERE key = ?", [.text(key)]).string }
    }

    public func setSetting(_ key: String, _ value: String) async throws {
        try await engine.write { db in try Self.putSetting(db, key, value) }
    }

    static func putSetting(_ db: any SQLTransaction, _ key: String, _ value: String) throws {
        try db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [.text(key), .text(value)]
        )
    }
}
