import Testing

@testable import RESTGateway

/// The gateway's kept list entries: found only by the exact bytes they were written from,
/// and never more than the configured bytes.
@Suite struct ListEntryCacheTests {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func anEntryIsFoundOnlyByItsExactBytes() {
        let cache = ListEntryCache(capacityBytes: 1 << 20)
        let record = bytes("record of instance one, state Started")
        record.withUnsafeBytes { cache.keep(record: $0, json: bytes(#"{"one":1}"#)) }
        #expect(record.withUnsafeBytes { cache.json(for: $0) } == bytes(#"{"one":1}"#))
        var changed = record
        changed[changed.count - 1] ^= 1
        #expect(changed.withUnsafeBytes { cache.json(for: $0) } == nil)
        #expect(Array(record.dropLast()).withUnsafeBytes { cache.json(for: $0) } == nil)
        #expect([UInt8]().withUnsafeBytes { cache.json(for: $0) } == nil)
    }

    @Test func theHashSeesEveryByte() {
        // Each byte position, including the tail past the last whole word, changes the hash.
        let base = [UInt8](repeating: 7, count: 21)
        let hash = base.withUnsafeBytes { ListEntryCache.hash($0) }
        for index in base.indices {
            var other = base
            other[index] = 8
            #expect(other.withUnsafeBytes { ListEntryCache.hash($0) } != hash, "byte \(index)")
        }
    }

    @Test func memoryStaysWithinTheCapacityAndRecentEntriesSurvive() {
        let capacity = 64 << 10
        let cache = ListEntryCache(capacityBytes: capacity)
        for index in 0..<5_000 {
            let record = bytes("record \(index) " + String(repeating: "x", count: index % 50))
            record.withUnsafeBytes { cache.keep(record: $0, json: bytes("{\"i\":\(index)}")) }
            #expect(cache.footprint.bytes <= capacity)
        }
        // The newest entry is always kept; one written long ago is gone.
        let newest = bytes("record 4999 " + String(repeating: "x", count: 4999 % 50))
        #expect(newest.withUnsafeBytes { cache.json(for: $0) } == bytes(#"{"i":4999}"#))
        #expect(bytes("record 0 ").withUnsafeBytes { cache.json(for: $0) } == nil)
    }

    @Test func aHitInTheOlderGenerationMovesItForward() {
        let cache = ListEntryCache(capacityBytes: 400)
        let kept = bytes("kept record")
        kept.withUnsafeBytes { cache.keep(record: $0, json: bytes("{}")) }
        // Fill until the first generation turns over, reading the kept entry after each write.
        for index in 0..<100 {
            bytes("filler \(index)").withUnsafeBytes { cache.keep(record: $0, json: bytes("{\"f\":\(index)}")) }
            #expect(kept.withUnsafeBytes { cache.json(for: $0) } == bytes("{}"), "after filler \(index)")
        }
    }

    @Test func aCapacityOfZeroKeepsNothing() {
        let cache = ListEntryCache(capacityBytes: 0)
        let record = bytes("record")
        record.withUnsafeBytes { cache.keep(record: $0, json: bytes("{}")) }
        #expect(record.withUnsafeBytes { cache.json(for: $0) } == nil)
        #expect(cache.footprint.entries == 0)
    }
}
