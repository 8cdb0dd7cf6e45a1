import Foundation
import BerthTestSupport
import Persistence
import Synchronization
import Testing

/// Chunk collection cannot take a chunk a push is using (issue 12).
@Suite struct ChunkCollectionTests {

    static let chunk: [UInt8] = Array(repeating: 0xAB, count: 32)

    @Test(arguments: StorageEngine.allCases) func aChunkStoredAgainIsYoungAndNotCollected(engine: StorageEngine) async throws {
        let db = try await TestStore(engine).open()
        try await db.recordChunks([(Self.chunk, 10)], now: 100)
        // A push sends the same chunk again at 300; a collection of what is older than 200
        // must not take it (the row used to keep its first time, 100).
        try await db.recordChunks([(Self.chunk, 10)], now: 300)
        #expect(try await db.collectUnreferencedChunks(storedBefore: 200).isEmpty)
        #expect(try await db.storedChunks(among: [Self.chunk], now: 300) == [Self.chunk])
    }

    @Test(arguments: StorageEngine.allCases) func aChunkAPushWasToldIsStoredIsNotCollected(engine: StorageEngine) async throws {
        let db = try await TestStore(engine).open()
        try await db.recordChunks([(Self.chunk, 10)], now: 100)
        // A push asks at 300 which chunks are missing; this one is not, so it will not send it.
        #expect(try await db.storedChunks(among: [Self.chunk], now: 300) == [Self.chunk])
        #expect(try await db.collectUnreferencedChunks(storedBefore: 200).isEmpty)
        // Past that push's grace it goes, and its file with its row.
        let removed = Mutex<[[UInt8]]>([])
        let doomed = try await db.collectUnreferencedChunks(storedBefore: 400) { hash in
            removed.withLock { $0.append(hash) }
        }
        #expect(doomed == [Self.chunk])
        #expect(removed.withLock { $0 } == [Self.chunk])
        #expect(try await db.storedChunks(among: [Self.chunk], now: 500).isEmpty)
    }
}
