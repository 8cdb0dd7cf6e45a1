import Foundation
import WireProtocol

/// Renders node groups in Anka's shape: `description` always a string, `fallback_group_id`
/// `null` when there is none.
enum GroupJSON {
    static func group(_ record: GroupRecord) -> [String: Any] {
        [
            "id": record.id,
            "name": record.name,
            "description": record.description,
            "fallback_group_id": record.fallbackGroupID.map { $0 as Any } ?? NSNull(),
        ]
    }
}
