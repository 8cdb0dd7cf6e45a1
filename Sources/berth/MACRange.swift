import Persistence

/// Parses `--mac-range FIRST-LAST`.
enum MACRange {
    static let maximumSize: UInt64 = 1 << 20

    static func parse(_ text: String) throws -> ClosedRange<UInt64> {
        let parts = text.split(separator: "-").map { String($0).uppercased() }
        guard parts.count == 2, let first = BerthDatabase.macValue(parts[0]),
            let last = BerthDatabase.macValue(parts[1])
        else {
            throw CommandFailure("--mac-range takes FIRST-LAST, e.g. 00:1C:42:00:00:00-00:1C:42:00:FF:FF")
        }
        guard first <= last, last - first < maximumSize else {
            throw CommandFailure("--mac-range must run upwards and hold at most \(maximumSize) addresses")
        }
        return first...last
    }
}
