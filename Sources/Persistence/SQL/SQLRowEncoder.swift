import Foundation
/// Turns an ``SQLRecord``'s stored properties into columns: a flat keyed container of
/// scalars, `[UInt8]` and optionals. Anything nested is an error, never JSON text.
final class SQLRowEncoder: Encoder {
    final class Storage {
        var columns: [(name: String, value: SQLValue)] = []
    }

    let storage = Storage()
    let snakeCase: Bool
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    init(snakeCase: Bool) { self.snakeCase = snakeCase }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Container<Key>(storage: storage, snakeCase: snakeCase))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        preconditionFailure("an SQLRecord encodes as a keyed container of columns")
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        preconditionFailure("an SQLRecord encodes as a keyed container of columns")
    }

    struct Container<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: Storage
        let snakeCase: Bool
        var codingPath: [any CodingKey] { [] }

        func name(_ key: Key) -> String { snakeCase ? SnakeCase.convert(key.stringValue) : key.stringValue }

        func put(_ value: SQLValue, _ key: Key) { storage.columns.append((name(key), value)) }

        mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { put(.integer(value ? 1 : 0), key) }
        mutating func encode(_ value: String, forKey key: Key) throws { put(.text(value), key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { put(.real(value), key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { put(.real(Double(value)), key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { put(.integer(Int64(value)), key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { put(.integer(Int64(value)), key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { put(.integer(Int64(value)), key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { put(.integer(Int64(value)), key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { put(.integer(value), key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { put(.integer(Int64(value)), key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.integer(Int64(value)), key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.integer(Int64(value)), key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.integer(Int64(value)), key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws {
            guard let signed = Int64(exactly: value) else {
                throw EncodingError.invalidValue(value, .init(codingPath: [key], debugDescription: "too large for a column"))
            }
            put(.integer(signed), key)
        }

        // A nil optional is a NULL column, not a missing one: an update must clear it.
        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try encodeOptional(value, key) }

        mutating func encodeOptional<T: Encodable>(_ value: T?, _ key: Key) throws {
            if let value { try encode(value, forKey: key) } else { put(.null, key) }
        }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            switch value {
            case let bytes as [UInt8]: return put(.blob(bytes), key)
            case let data as Data: return put(.blob([UInt8](data)), key)
            case let flag as Bool: return put(.integer(flag ? 1 : 0), key)
            case let text as String: return put(.text(text), key)
            case let number as Double: return put(.real(number), key)
            case let number as Float: return put(.real(Double(number)), key)
            case let number as any BinaryInteger:
                guard let signed = Int64(exactly: number) else {
                    throw EncodingError.invalidValue(value, .init(codingPath: [key], debugDescription: "too large for a column"))
                }
                return put(.integer(signed), key)
            default: break
            }
            throw EncodingError.invalidValue(
                value,
                .init(codingPath: [key], debugDescription: "\(T.self) is not a column type (scalars and [UInt8] only)")
            )
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type,
            forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            preconditionFailure("an SQLRecord's columns are not nested")
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            preconditionFailure("an SQLRecord's columns are not nested")
        }

        mutating func superEncoder() -> any Encoder { preconditionFailure("an SQLRecord's columns are not nested") }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            preconditionFailure("an SQLRecord's columns are not nested")
        }
    }
}
