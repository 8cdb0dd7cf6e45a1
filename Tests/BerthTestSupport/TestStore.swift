import Foundation
import Logging
import Persistence
import Testing

/// The two storage engines a storage test runs on.
public enum StorageEngine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    public var testDescription: String { rawValue }
}

/// One test's database on one engine: a new SQLite file in a temporary directory, or a new
/// database on the shared PostgreSQL cluster (``SharedPostgres``). ``open()`` opens it, and
/// again to see what survived, as a restarted control plane would.
///
/// A PostgreSQL database made here stays until the test process ends (the cluster goes
/// with it), so a test needs no clean-up of its own.
public struct TestStore: Sendable {
    public let engine: StorageEngine
    /// The SQLite file (for ``StorageEngine/sqlite``).
    public let path: String
    /// The PostgreSQL database (for ``StorageEngine/postgres``).
    public let location: PostgresLocation?

    public init(_ engine: StorageEngine) async throws {
        self.engine = engine
        switch engine {
        case .sqlite:
            path = TestPaths.temporaryDirectory("berth-store").appendingPathComponent("berth.sqlite").path
            location = nil
        case .postgres:
            try #require(TestPostgres.isAvailable, "needs PostgreSQL (apt-get install postgresql) and root for runuser")
            location = try await SharedPostgres.newDatabase()
            path = location?.description ?? ""
        }
    }

    /// The database at `location` (a test's own cluster, which it may stop and start).
    public init(location: PostgresLocation) {
        engine = .postgres
        self.location = location
        path = location.description
    }

    /// Opens the database (migrating it the first time).
    public func open() async throws -> BerthDatabase {
        guard let location else { return try BerthDatabase(path: path) }
        return try await BerthDatabase(postgres: PostgresEngine(location: location, logger: TestLogging.logger("store")))
    }
}
