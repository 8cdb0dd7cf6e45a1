import Foundation
import Logging
import NIOCore
import PostgresNIO

/// ``SQLTransaction`` on a PostgreSQL connection: each statement is sent and waited for on
/// the calling thread, which is one of ``PostgresEngine``'s own (never an event loop's, and
/// never a Swift concurrency thread).
final class PostgresTransaction: SQLTransaction {
    let connection: PostgresConnection
    /// Every answer is waited for through it (see ``ConnectionWatch``).
    let watch: ConnectionWatch
    let logger: Logger
    /// Statements sent by ``executeLater(_:_:)`` whose answers are not read yet, in order.
    private var pending: [(sql: String, answer: EventLoopFuture<PostgresQueryResult>)] = []

    init(watch: ConnectionWatch, logger: Logger) {
        self.connection = watch.connection
        self.watch = watch
        self.logger = logger
    }

    var dialect: SQLDialect { .postgres }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let result = try run(sql, arguments)
        guard let first = result.rows.first else { return [] }
        let columns = first.map(\.columnName)
        return try result.rows.map { row in SQLRow(columns: columns, values: try row.map(Self.value)) }
    }

    func savepoint<T>(_ body: () throws -> T) throws -> T {
        try execute("SAVEPOINT berth", [])
        do {
            let result = try body()
            try execute("RELEASE SAVEPOINT berth", [])
            return result
        } catch {
            abandon()
            try execute("ROLLBACK TO SAVEPOINT berth", [])
            try execute("RELEASE SAVEPOINT berth", [])
            throw error
        }
    }

    func executeLater(_ sql: String, _ arguments: [SQLValue]) throws {
        pending.append((sql, connection.query(Self.query(sql, arguments), logger: logger)))
    }

    /// Waits for every statement sent ahead; throws the first one's error.
    func settle() throws {
        let sent = pending
        pending = []
        var failure: (any Error)?
        for (sql, answer) in sent {
            do {
                _ = try watch.wait(answer)
            } catch {
                if failure == nil { failure = Self.described(error, sql) }
            }
        }
        if let failure { throw failure }
    }

    /// Drops what was sent ahead, waiting for it (a rollback follows).
    func abandon() {
        for (_, answer) in pending { _ = try? watch.wait(answer) }
        pending = []
    }

    private func run(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQueryResult {
        try settle()
        do {
            return try watch.wait(connection.query(Self.query(sql, arguments), logger: logger))
        } catch {
            throw Self.described(error, sql)
        }
    }

    /// A server's refusal as ``PostgresStatementError``, in its own words (PSQLError's
    /// description hides them); anything else as it is.
    static func described(_ error: any Error, _ sql: String) -> any Error {
        guard let error = error as? PSQLError, let info = error.serverInfo else { return error }
        return PostgresStatementError(
            sqlState: info[.sqlState] ?? "",
            message: info[.message] ?? "",
            detail: info[.detail] ?? "",
            statement: sql
        )
    }

    static func query(_ sql: String, _ arguments: [SQLValue]) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: bindings.appendNull()
            case .integer(let number): bindings.append(number)
            case .real(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            }
        }
        return PostgresQuery(unsafeSQL: numbered(sql), binds: bindings)
    }

    /// `?` placeholders as `$1`, `$2`, …, outside quoted text, quoted names and comments.
    static func numbered(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quote: Character?
        var lineComment = false
        var previous: Character = " "
        for character in sql {
            if lineComment {
                if character == "\n" { lineComment = false }
            } else if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "-", previous == "-" {
                lineComment = true
            } else if character == "?" {
                number += 1
                output += "$\(number)"
                previous = character
                continue
            }
            output.append(character)
            previous = character
        }
        return output
    }

    /// A cell as the engine-neutral value: integers, floating point, text, bytes; booleans
    /// as 0 and 1; NUMERIC (sums of BIGINT) as an integer when whole.
    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .bytea:
            var buffer = try cell.decode(ByteBuffer.self)
            return .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .numeric:
            let text = "\(try cell.decode(Decimal.self))"
            if let whole = Int64(text) { return .integer(whole) }
            return .real(Double(text) ?? 0)
        default: return .text(try cell.decode(String.self))
        }
    }
}

/// A statement PostgreSQL refused, in its own words: what SQLite's `DatabaseError` is on
/// the other engine (a constraint, a type, a syntax), and no ``PersistenceError``.
public struct PostgresStatementError: Error, CustomStringConvertible, Sendable {
    /// The SQLSTATE code (`23505` is a unique violation).
    public var sqlState: String
    public var message: String
    public var detail: String
    public var statement: String

    public var description: String {
        "PostgreSQL \(sqlState): \(message)\(detail.isEmpty ? "" : " (\(detail))") in: \(statement.prefix(200))"
    }
}
