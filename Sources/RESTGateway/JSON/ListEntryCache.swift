import Foundation
import Synchronization

/// The JSON of `GET /api/v1/vm` entries, kept by the exact record bytes each was written
/// from.
///
/// CI integrations poll the list, and between two polls most instances do not change.
/// The control plane sends an unchanged instance's record as the same bytes, so an entry
/// whose bytes match a kept one is copied instead of decoded and written again. A match is
/// checked byte for byte (the hash only finds the candidate), so a kept entry can never
/// stand in for a changed record.
///
/// Memory is bounded by two generations: entries go into the current one, a hit in the
/// previous one moves it forward, and when an entry would take the current one past half
/// of `capacityBytes` it becomes the previous one and the oldest entries are dropped. A list
/// larger than the cache still comes out right, with fewer hits.
final class ListEntryCache: Sendable {
    struct Entry {
        let record: [UInt8]
        let json: [UInt8]
        var size: Int { record.count + json.count }
    }

    private struct Generations {
        var current: [UInt64: Entry] = [:]
        var previous: [UInt64: Entry] = [:]
        var currentBytes = 0
    }

    /// The most bytes (records and their JSON) kept across both generations; 0 keeps nothing.
    let capacityBytes: Int
    private let state = Mutex(Generations())

    init(capacityBytes: Int) {
        self.capacityBytes = max(0, capacityBytes)
    }

    /// The JSON written before from exactly these record bytes, if it is still kept.
    func json(for record: UnsafeRawBufferPointer) -> [UInt8]? {
        guard capacityBytes > 0 else { return nil }
        let key = Self.hash(record)
        return state.withLock { kept -> [UInt8]? in
            if let entry = kept.current[key] {
                return Self.same(entry.record, record) ? entry.json : nil
            }
            guard let entry = kept.previous.removeValue(forKey: key), Self.same(entry.record, record) else {
                return nil
            }
            Self.insert(entry, key: key, into: &kept, capacity: capacityBytes)
            return entry.json
        }
    }

    /// Keeps `json` as the entry written from `record`.
    func keep(record: UnsafeRawBufferPointer, json: [UInt8]) {
        guard capacityBytes > 0, record.count + json.count <= capacityBytes / 2 else { return }
        let entry = Entry(record: Array(record), json: json)
        let key = Self.hash(record)
        state.withLock { Self.insert(entry, key: key, into: &$0, capacity: capacityBytes) }
    }

    /// Entries and bytes kept now (both generations), for tests and metrics.
    var footprint: (entries: Int, bytes: Int) {
        state.withLock { kept in
            let all = Array(kept.current.values) + Array(kept.previous.values)
            return (all.count, all.reduce(0) { $0 + $1.size })
        }
    }

    private static func insert(_ entry: Entry, key: UInt64, into kept: inout Generations, capacity: Int) {
        if let replaced = kept.current.removeValue(forKey: key) { kept.currentBytes -= replaced.size }
        if kept.currentBytes + entry.size > capacity / 2 {
            kept.previous = kept.current
            kept.current = [:]
            kept.currentBytes = 0
        }
        kept.current[key] = entry
        kept.currentBytes += entry.size
    }

    private static func same(_ kept: [UInt8], _ record: UnsafeRawBufferPointer) -> Bool {
        guard kept.count == record.count else { return false }
        guard let recordBase = record.baseAddress else { return true }
        return kept.withUnsafeBytes { memcmp($0.baseAddress!, recordBase, record.count) == 0 }
    }

    /// A fast 64-bit hash of `bytes`, eight at a time (FxHash's rotate, xor and multiply).
    /// Not for adversaries: a collision only costs a miss, since every hit is compared.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let seed: UInt64 = 0x517c_c1b7_2722_0a95
        var hash = UInt64(truncatingIfNeeded: bytes.count)
        var offset = 0
        while offset + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            hash = ((hash << 5 | hash >> 59) ^ word) &* seed
            offset += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            tail |= UInt64(bytes[offset]) << shift
            shift += 8
            offset += 1
        }
        hash = ((hash << 5 | hash >> 59) ^ tail) &* seed
        return hash ^ (hash >> 29)
    }
}
