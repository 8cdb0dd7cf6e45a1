import Foundation
import GRDB

/// ``SQLTransaction`` on a GRDB connection, inside one of its `read` or `write` closures.
struct SQLiteTransaction: SQLTransaction {
    let db: Database

    var dialect: SQLDialect { .sqlite }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try statement(sql, arguments.count).execute(arguments: Self.arguments(arguments))
        return db.changesCount
    }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let rows = try Row.fetchAll(statement(sql, arguments.count), arguments: Self.arguments(arguments))
        guard let first = rows.first else { return [] }
        let columns = Array(first.columnNames)
        return rows.map { row in SQLRow(columns: columns, values: row.databaseValues.map(Self.value)) }
    }

    func executeLater(_ sql: String, _ arguments: [SQLValue]) throws {
        try execute(sql, arguments)
    }

    func savepoint<T>(_ body: () throws -> T) throws -> T {
        var result: T?
        try db.inSavepoint {
            result = try body()
            return .commit
        }
        return result!
    }

    /// The compiled statement: from the connection's cache when it has few arguments (the
    /// repositories' fixed statements; compiling one costs more than running it, since
    /// GRDB's authorizer runs per compile), compiled afresh when it has many (statements
    /// built for one batch's size, which would only fill the cache).
    private func statement(_ sql: String, _ argumentCount: Int) throws -> Statement {
        argumentCount <= Self.cachedArgumentLimit ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
    }

    static let cachedArgumentLimit = 64

    static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(
            values.map { value -> DatabaseValue in
                switch value {
                case .null: .null
                case .integer(let number): number.databaseValue
                case .real(let number): number.databaseValue
                case .text(let text): text.databaseValue
                case .blob(let bytes): Data(bytes).databaseValue
                }
            }
        )
    }

    static func value(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: .null
        case .int64(let number): .integer(number)
        case .double(let number): .real(number)
        case .string(let text): .text(text)
        case .blob(let data): .blob([UInt8](data))
        }
    }
}
