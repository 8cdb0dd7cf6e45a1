import Foundation
import GRDB

extension PersistenceError {
    /// Whether `error` means the disk (or the database's size limit) is full: SQLite's
    /// `SQLITE_FULL`, or `ENOSPC` from a file write such as the chunk store's.
    public static func isStorageFull(_ error: any Error) -> Bool {
        if let error = error as? DatabaseError {
            return error.resultCode == .SQLITE_FULL
        }
        if let error = error as? CocoaError, error.code == .fileWriteOutOfSpace { return true }
        if let error = error as? POSIXError, error.code == .ENOSPC { return true }
        let bridged = error as NSError
        return bridged.domain == NSPOSIXErrorDomain && bridged.code == Int(ENOSPC)
    }
}

extension BerthDatabase {
    /// Caps the database at `pages` pages from now on (`PRAGMA max_page_count`), so that writes
    /// past it fail with `SQLITE_FULL` exactly as on a full disk; for tests and drills.
    public func limitSize(toPages pages: Int) async throws {
        try await writer.write { db in try db.execute(sql: "PRAGMA max_page_count = \(max(1, pages))") }
    }

    /// Pages the database file holds now.
    public func pageCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
    }
}
