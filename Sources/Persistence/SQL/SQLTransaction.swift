/// The statements of one transaction, the same on both engines: SQL with `?` placeholders
/// (PostgreSQL's `$n` are numbered by the engine), values as ``SQLValue``.
///
/// It is synchronous: SQLite's transactions are closures that must not suspend (GRDB), so
/// the PostgreSQL engine runs a transaction on a thread of its own and waits there for
/// each answer.
public protocol SQLTransaction {
    /// Which engine runs it, for the few statements whose spelling differs.
    var dialect: SQLDialect { get }

    /// Runs a statement; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int

    /// Runs a query and returns every row.
    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]

    /// Runs a statement whose outcome the transaction needs no sooner than its next
    /// statement that returns something, or its commit: PostgreSQL sends it without waiting
    /// for the answer (each statement is otherwise a round trip), and that next statement
    /// raises its error if it failed. SQLite runs it at once.
    func executeLater(_ sql: String, _ arguments: [SQLValue]) throws

    /// Runs `body` in a savepoint: what it did is undone when it throws, and the error
    /// is rethrown; the transaction goes on either way.
    func savepoint<T>(_ body: () throws -> T) throws -> T
}

extension SQLTransaction {
    /// The first row, if any.
    public func row(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }

    /// The first column of the first row, or `.null`.
    public func value(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue {
        try rows(sql, arguments).first?[0] ?? .null
    }

    /// The first column of every row.
    public func values(_ sql: String, _ arguments: [SQLValue] = []) throws -> [SQLValue] {
        try rows(sql, arguments).map { $0[0] }
    }

    /// Whether the query finds a row.
    public func exists(_ sql: String, _ arguments: [SQLValue] = []) throws -> Bool {
        try !rows(sql, arguments).isEmpty
    }
}

/// The two engines' spellings where they differ.
public enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// The larger of two values: SQLite's scalar `MAX(a, b)`, PostgreSQL's `GREATEST(a, b)`.
    public var greatest: String { self == .sqlite ? "MAX" : "GREATEST" }
}
