import Foundation
import GRDB

/// `[UInt8]` record fields are stored as BLOBs.
///
/// GRDB stores any Codable value that is not `DatabaseValueConvertible` as JSON text, so
/// before this a 32-byte hash was the text `"[21,69,198,…]"` (about four bytes per byte) and
/// every read of a wire-encoded field ran `JSONDecoder`. With this conformance the records
/// keep their `[UInt8]` fields and GRDB binds and reads them as BLOBs. Migration
/// `v13-binary-blobs` rewrites rows written before it (see ``Schema``).
///
/// The conformance is retroactive (both types belong to others). Only this module links
/// GRDB, and the type it stores in is GRDB's own `Data` conversion, so no other module's
/// behaviour changes.
extension Array: @retroactive SQLExpressible where Element == UInt8 {}
extension Array: @retroactive StatementBinding where Element == UInt8 {}

extension Array: @retroactive DatabaseValueConvertible where Element == UInt8 {
    public var databaseValue: DatabaseValue { Data(self).databaseValue }

    /// A BLOB, or `nil` for anything else (JSON text left by an old write is migrated, not read).
    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> [UInt8]? {
        guard case .blob(let data) = dbValue.storage else { return nil }
        return [UInt8](data)
    }
}
