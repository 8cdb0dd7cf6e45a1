import Dispatch
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// ``SQLEngine`` on PostgreSQL.
///
/// Writes run one at a time on a connection and a thread of their own, as SQLite's one
/// writer does, so the repositories' transactions mean the same on both engines. Reads run
/// on ``readerCount`` other connections in `REPEATABLE READ READ ONLY` transactions (one
/// snapshot each).
/// Each connection goes to the location's writable host (``PostgresPrimary``), found again
/// after a connection fails. With a fencing epoch set, every write first checks it against
/// the leader lease (``LeaderLease/fence(_:epoch:logger:)``).
public final class PostgresEngine: SQLEngine {
    public let location: PostgresLocation
    let logger: Logger
    let writerSlot: ConnectionSlot
    let writerQueue = DispatchQueue(label: "berth.postgres.writer")
    /// Reader connections, each with its thread, taken in turn: reads (a start's template
    /// lookup, listings) go on side by side, as they do on SQLite's WAL snapshots.
    let readers: [(slot: ConnectionSlot, queue: DispatchQueue)]
    private let nextReader = Mutex(0)
    /// The leader lease's connection (``LeaderLease``): renewals never wait behind writes.
    let leaseSlot: ConnectionSlot
    let leaseQueue = DispatchQueue(label: "berth.postgres.lease")
    let epoch = Mutex<Int64?>(nil)

    /// Reader connections an engine opens (on first use).
    public static let readerCount = 4

    public init(location: PostgresLocation, logger: Logger) {
        self.location = location
        self.logger = logger
        self.writerSlot = ConnectionSlot(location: location, id: 1, logger: logger)
        self.leaseSlot = ConnectionSlot(location: location, id: 2 + Self.readerCount, logger: logger)
        self.readers = (0..<Self.readerCount).map { index in
            (
                ConnectionSlot(location: location, id: 2 + index, logger: logger),
                DispatchQueue(label: "berth.postgres.reader.\(index)")
            )
        }
    }

    public var dialect: SQLDialect { .postgres }

    /// Writes from now on are refused unless the leader lease still has this epoch.
    public func fence(epoch value: Int64?) { epoch.withLock { $0 = value } }

    @discardableResult
    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        let fencing = epoch.withLock { $0 }
        return try await run(slot: writerSlot, queue: writerQueue, begin: "BEGIN") { transaction in
            if let fencing { try Self.fence(transaction, epoch: fencing) }
            return try body(transaction)
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        let reader = readers[nextReader.withLock { next in
            defer { next = (next + 1) % readers.count }
            return next
        }]
        return try await run(slot: reader.slot, queue: reader.queue, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") {
            try body($0)
        }
    }

    /// A transaction on the lease's own connection, never fenced (``LeaderLease``).
    @discardableResult
    public func leaseTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        try await run(slot: leaseSlot, queue: leaseQueue, begin: "BEGIN") { try body($0) }
    }

    /// Closes every connection.
    public func close() async {
        await writerSlot.close()
        await leaseSlot.close()
        for reader in readers { await reader.slot.close() }
    }

    private func run<T: Sendable>(
        slot: ConnectionSlot,
        queue: DispatchQueue,
        begin: String,
        _ body: @escaping @Sendable (PostgresTransaction) throws -> T
    ) async throws -> T {
        let watch = try await slot.connection()
        let connection = watch.connection
        let logger = self.logger
        do {
            return try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    let transaction = PostgresTransaction(watch: watch, logger: logger)
                    do {
                        // Sent ahead: the first statement's answer follows it, one wait for both.
                        try transaction.executeLater(begin, [])
                        let value: T
                        do {
                            value = try body(transaction)
                            try transaction.settle()  // statements sent ahead: their errors roll back
                        } catch {
                            transaction.abandon()
                            _ = try? transaction.execute("ROLLBACK", [])
                            throw error
                        }
                        try transaction.execute("COMMIT", [])
                        continuation.resume(returning: value)
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } catch let error as PSQLError where error.code == .serverClosedConnection || error.code == .connectionError {
            await slot.discard(connection)
            throw PersistenceError(.unavailable, "the connection to PostgreSQL failed: \(error.code)")
        } catch {
            if connection.isClosed { await slot.discard(connection) }
            throw error
        }
    }

    static func fence(_ transaction: PostgresTransaction, epoch: Int64) throws {
        try LeaderLease.check(epoch: epoch, current: try transaction.value(LeaderLease.fenceSQL).int64)
    }
}

/// One connection to the writable host, made on first use and again after it fails.
actor ConnectionSlot {
    let location: PostgresLocation
    let id: Int
    let logger: Logger
    private var current: Task<ConnectionWatch, any Error>?

    init(location: PostgresLocation, id: Int, logger: Logger) {
        self.location = location
        self.id = id
        self.logger = logger
    }

    /// The connection, made on first use and again once it closed. An actor method that
    /// suspends can be entered again meanwhile, so ``current`` is compared with what was
    /// read before each suspension and replaced only by the caller that saw it stale.
    func connection() async throws -> ConnectionWatch {
        while true {
            if let task = current {
                let watch = try? await task.value
                if let watch, !watch.connection.isClosed { return watch }
                if current == task {
                    current = nil
                    // Closed by the server (or never made); postgres-nio wants it closed here too.
                    if let watch { Task { try? await watch.connection.close() } }
                }
                continue
            }
            let location = location, id = id, logger = logger
            let task = Task {
                let host = try await PostgresPrimary.find(in: location, logger: logger)
                return ConnectionWatch(
                    try await PostgresConnection.connect(
                        configuration: location.configuration(for: host),
                        id: id,
                        logger: logger
                    )
                )
            }
            current = task
            do {
                return try await task.value
            } catch {
                if current == task { current = nil }
                throw error
            }
        }
    }

    /// Forgets `connection` (it failed), so the next use connects again.
    func discard(_ connection: PostgresConnection) async {
        if let task = current, let held = try? await task.value, held.connection === connection, current == task {
            current = nil
        }
        try? await connection.close()
    }

    func close() async {
        if let current, let watch = try? await current.value { try? await watch.connection.close() }
        current = nil
    }

    /// An engine dropped without ``PostgresEngine/close()`` still closes its connection
    /// (postgres-nio requires a connection be closed before it goes): the task holds the
    /// connection until it is.
    deinit {
        guard let current else { return }
        Task { try? await current.value.connection.close() }
    }
}
