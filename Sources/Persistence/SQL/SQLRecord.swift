import Foundation

/// A row type that both engines store through its `Codable` conformance, as GRDB's records
/// are stored today: one column per stored property, `[UInt8]` as a BLOB (BYTEA), `Bool` as
/// 0 or 1, `nil` as NULL.
public protocol SQLRecord: Codable, Sendable {
    /// The table's name.
    static var tableName: String { get }
    /// The primary key's columns.
    static var primaryKey: [String] { get }
    /// Whether property names become columns in snake_case (`ramMb` → `ram_mb`), as GRDB's
    /// `convertToSnakeCase` does; otherwise they are used as they are.
    static var snakeCaseColumns: Bool { get }

    /// The record's columns and values. The default encodes the record; a record written on
    /// a hot path lists them itself.
    func columns() throws -> [(name: String, value: SQLValue)]

    /// The record read from a row of its table. The default decodes it.
    init(row: SQLRow) throws
}

extension SQLRecord {
    public static var primaryKey: [String] { ["id"] }
    public static var snakeCaseColumns: Bool { true }

    /// The record's columns and values, in the order its properties encode.
    public func columns() throws -> [(name: String, value: SQLValue)] {
        let encoder = SQLRowEncoder(snakeCase: Self.snakeCaseColumns)
        try encode(to: encoder)
        return encoder.storage.columns
    }

    /// The record read from a row of its table.
    public init(row: SQLRow) throws {
        try self.init(from: SQLRowDecoder(row: row, snakeCase: Self.snakeCaseColumns))
    }
}

extension SQLTransaction {
    /// `INSERT` of every column of `record`. A key column that is `nil` is left out, so the
    /// database assigns it (an identity on PostgreSQL, AUTOINCREMENT on SQLite).
    public func insert<Record: SQLRecord>(_ record: Record) throws {
        let columns = try Self.insertedColumns(record)
        try execute(Self.insertSQL(record, columns: columns), columns.map(\.value))
    }

    /// ``insert(_:)`` of a record whose one key the database assigns; returns the key.
    public func insertReturningKey<Record: SQLRecord>(_ record: Record) throws -> Int64 {
        let columns = try Self.insertedColumns(record)
        let key = Record.primaryKey[0]
        guard let assigned = try value(Self.insertSQL(record, columns: columns) + " RETURNING \(key)", columns.map(\.value)).int64
        else { throw PersistenceError(.conflict, "no \(key) was assigned in \(Record.tableName)") }
        return assigned
    }

    /// `INSERT` or, when a row has its key, `UPDATE` of every column of `record`.
    public func save<Record: SQLRecord>(_ record: Record) throws {
        if try !update(record) { try insert(record) }
    }

    /// Whether a row has this (single-column) primary key.
    public func exists<Record: SQLRecord>(_ type: Record.Type, key: SQLValue) throws -> Bool {
        try exists("SELECT 1 FROM \(Record.tableName) WHERE \(Record.primaryKey[0]) = ?", [key])
    }

    /// Deletes the row with this (single-column) primary key; returns whether there was one.
    @discardableResult
    public func delete<Record: SQLRecord>(_ type: Record.Type, key: SQLValue) throws -> Bool {
        try execute("DELETE FROM \(Record.tableName) WHERE \(Record.primaryKey[0]) = ?", [key]) > 0
    }

    private static func insertedColumns<Record: SQLRecord>(_ record: Record) throws -> [(name: String, value: SQLValue)] {
        try record.columns().filter { !($0.value == .null && Record.primaryKey.contains($0.name)) }
    }

    private static func insertSQL<Record: SQLRecord>(_ record: Record, columns: [(name: String, value: SQLValue)]) -> String {
        "INSERT INTO \(Record.tableName) (\(columns.map(\.name).joined(separator: ", "))) VALUES ("
            + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
    }

    /// `UPDATE` of every column of `record` but its key, by its key; returns whether a row
    /// was there.
    @discardableResult
    public func update<Record: SQLRecord>(_ record: Record) throws -> Bool {
        let columns = try record.columns()
        let key = columns.filter { Record.primaryKey.contains($0.name) }
        let rest = columns.filter { !Record.primaryKey.contains($0.name) }
        return try execute(
            "UPDATE \(Record.tableName) SET \(rest.map { "\($0.name) = ?" }.joined(separator: ", ")) WHERE "
                + key.map { "\($0.name) = ?" }.joined(separator: " AND "),
            rest.map(\.value) + key.map(\.value)
        ) > 0
    }

    /// Records of `Record`'s table; `clause` follows `SELECT * FROM table` (`WHERE …`,
    /// `ORDER BY …`), with `?` placeholders.
    public func fetch<Record: SQLRecord>(
        _ type: Record.Type,
        _ clause: String = "",
        _ arguments: [SQLValue] = []
    ) throws -> [Record] {
        try rows("SELECT * FROM \(Record.tableName) \(clause)", arguments).map(Record.init(row:))
    }

    /// The record with this (single-column) primary key, if any.
    public func fetch<Record: SQLRecord>(_ type: Record.Type, key: SQLValue) throws -> Record? {
        try fetch(type, "WHERE \(Record.primaryKey[0]) = ?", [key]).first
    }
}

/// Property names as columns: Foundation's `convertToSnakeCase`, which GRDB uses too, so
/// that existing SQLite files keep their column names.
public enum SnakeCase {
    public static func convert(_ key: String) -> String {
        guard !key.isEmpty else { return key }
        var words: [Range<String.Index>] = []
        var wordStart = key.startIndex
        var searchRange = key.index(after: wordStart)..<key.endIndex
        while let upperCaseRange = key.rangeOfCharacter(from: .uppercaseLetters, range: searchRange) {
            let untilUpperCase = wordStart..<upperCaseRange.lowerBound
            words.append(untilUpperCase)
            searchRange = upperCaseRange.lowerBound..<searchRange.upperBound
            guard let lowerCaseRange = key.rangeOfCharacter(from: .lowercaseLetters, range: searchRange) else {
                wordStart = searchRange.lowerBound
                break
            }
            let nextCharacterAfterCapital = key.index(after: upperCaseRange.lowerBound)
            if lowerCaseRange.lowerBound == nextCharacterAfterCapital {
                wordStart = upperCaseRange.lowerBound
            } else {
                let beforeLowerIndex = key.index(before: lowerCaseRange.lowerBound)
                words.append(upperCaseRange.lowerBound..<beforeLowerIndex)
                wordStart = beforeLowerIndex
            }
            searchRange = lowerCaseRange.upperBound..<searchRange.upperBound
        }
        words.append(wordStart..<searchRange.upperBound)
        return words.map { key[$0].lowercased() }.joined(separator: "_")
    }
}
