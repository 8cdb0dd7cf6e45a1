import Foundation
/// Reads an ``SQLRecord`` from a row: the counterpart of ``SQLRowEncoder``. A column the
/// row lacks decodes as absent (the property's optional or its error); a value of the wrong
/// kind is a `DecodingError` naming the column.
struct SQLRowDecoder: Decoder {
    let row: SQLRow
    let snakeCase: Bool
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container<Key>(row: row, snakeCase: snakeCase))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(
            [Any].self,
            .init(codingPath: [], debugDescription: "an SQLRecord decodes from a keyed container of columns")
        )
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(
            Any.self,
            .init(codingPath: [], debugDescription: "an SQLRecord decodes from a keyed container of columns")
        )
    }

    struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: SQLRow
        let snakeCase: Bool
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { [] }

        func name(_ key: Key) -> String { snakeCase ? SnakeCase.convert(key.stringValue) : key.stringValue }

        func contains(_ key: Key) -> Bool { row.columns.contains(name(key)) }

        func value(_ key: Key) throws -> SQLValue {
            guard let index = row.columns.firstIndex(of: name(key)) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: [], debugDescription: "no column \(name(key))"))
            }
            return row.values[index]
        }

        func mismatch<T>(_ type: T.Type, _ key: Key, _ value: SQLValue) -> DecodingError {
            DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: "column \(name(key)) holds \(value)"))
        }

        func integer(_ key: Key) throws -> Int64 {
            let stored = try value(key)
            guard let number = stored.int64 else { throw mismatch(Int64.self, key, stored) }
            return number
        }

        func decodeNil(forKey key: Key) throws -> Bool { (try? value(key))?.isNull ?? true }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try integer(key) != 0 }
        func decode(_ type: String.Type, forKey key: Key) throws -> String {
            let stored = try value(key)
            guard let text = stored.string else { throw mismatch(type, key, stored) }
            return text
        }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
            let stored = try value(key)
            guard let number = stored.double else { throw mismatch(type, key, stored) }
            return number
        }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try decode(Double.self, forKey: key)) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try exact(key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try exact(key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try exact(key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try exact(key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try exact(key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try exact(key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try exact(key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try exact(key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try exact(key) }

        func exact<T: FixedWidthInteger>(_ key: Key) throws -> T {
            let number = try integer(key)
            guard let value = T(exactly: number) else { throw mismatch(T.self, key, .integer(number)) }
            return value
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let stored = try value(key)
            if T.self == [UInt8].self, case .blob(let bytes) = stored, let value = bytes as? T { return value }
            if T.self == Data.self, case .blob(let bytes) = stored, let value = Data(bytes) as? T { return value }
            throw mismatch(type, key, stored)
        }

        func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type,
            forKey key: Key
        ) throws -> KeyedDecodingContainer<NestedKey> {
            throw mismatch([String: Any].self, key, .null)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw mismatch([Any].self, key, .null)
        }

        func superDecoder() throws -> any Decoder {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "an SQLRecord has no super decoder"))
        }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw mismatch(Any.self, key, .null) }
    }
}
