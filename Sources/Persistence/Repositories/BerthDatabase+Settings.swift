import Foundation
import GRDB

extension BerthDatabase {
    /// The stored secret named `key` (in `settings`); if there is none, stores `make()` first.
    ///
    /// Read and insert share one transaction, so every caller (every gateway asking at once)
    /// gets the same value, made once per deployment.
    public func secret(_ key: String, orInsert make: @escaping @Sendable () -> [UInt8]) async throws -> [UInt8] {
        try await writer.write { db in
            if let stored = try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key]),
                let bytes = Data(base64Encoded: stored)
            {
                return Array(bytes)
            }
            let value = make()
            try db.execute(
                sql: "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [key, Data(value).base64EncodedString()]
            )
            return value
        }
    }
}
