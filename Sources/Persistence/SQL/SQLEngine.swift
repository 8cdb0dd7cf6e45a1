import GRDB

/// Transactions on one of the two engines, run the same way: a closure of statements that
/// commits when it returns and rolls back when it throws.
public protocol SQLEngine: Sendable {
    var dialect: SQLDialect { get }

    /// Runs `body` in one write transaction, durable when this returns.
    @discardableResult
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T

    /// Runs `body` in one read-only transaction that sees one consistent state.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T
}

/// ``SQLEngine`` on SQLite, through GRDB's writer (one writer; readers on WAL snapshots).
public struct SQLiteEngine: SQLEngine {
    let writer: any DatabaseWriter

    init(writer: any DatabaseWriter) { self.writer = writer }

    public var dialect: SQLDialect { .sqlite }

    @discardableResult
    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        try await writer.write { db in try body(SQLiteTransaction(db: db)) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        try await writer.read { db in try body(SQLiteTransaction(db: db)) }
    }
}
