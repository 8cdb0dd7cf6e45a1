import NIOCore

/// Reads numbered fields from a payload's bytes.
///
/// A reader is only valid inside the decode call that created it (``WireDecodable/init(payload:)``
/// and friends): it reads the payload's memory in place. Every read checks bounds and wire
/// type and throws a ``WireError`` on malformed input; nothing here traps or allocates more
/// than the values it returns.
public struct PayloadReader {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    /// Nesting depth of this reader; deeper payloads are refused.
    let depth: Int
    static let maxDepth = 16

    @usableFromInline
    init(_ bytes: UnsafeRawBufferPointer, depth: Int = 0) {
        self.bytes = bytes
        self.position = 0
        self.depth = depth
    }

    /// Bytes not read yet.
    public var remaining: Int { bytes.count - position }

    /// The next field key, or `nil` at the end of the payload.
    @inline(__always)
    public mutating func next() throws -> FieldTag? {
        guard position < bytes.count else { return nil }
        // Fast path: a one-byte key (fields 1–15) of a known wire type.
        let first = bytes[position]
        if first < 0x80, first >= 8, let type = WireType(rawValue: first & 7) {
            position += 1
            return FieldTag(number: UInt32(first >> 3), wireType: type)
        }
        return try nextSlow()
    }

    @inline(never)
    mutating func nextSlow() throws -> FieldTag? {
        let key = try readVarint()
        guard let type = WireType(rawValue: UInt8(key & 7)) else {
            throw WireError(.wrongWireType, "unknown wire type \(key & 7)")
        }
        let number = key >> 3
        guard number > 0, number <= UInt64(UInt32.max) else {
            throw WireError(.invalidValue, "invalid field number \(number)")
        }
        return FieldTag(number: UInt32(number), wireType: type)
    }

    @inline(__always)
    mutating func readVarint() throws -> UInt64 {
        // Fast path: most keys, enums, lengths and small integers fit one byte.
        if position < bytes.count {
            let first = bytes[position]
            if first < 0x80 {
                position += 1
                return UInt64(first)
            }
        }
        return try readVarintSlow()
    }

    @inline(never)
    mutating func readVarintSlow() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else {
                throw WireError(.truncated, "payload ends inside a varint")
            }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 {
                throw WireError(.malformedVarint, "varint overflows 64 bits")
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw WireError(.malformedVarint, "varint longer than 10 bytes") }
        }
    }

    @inline(__always)
    func expect(_ tag: FieldTag, _ type: WireType) throws {
        guard tag.wireType == type else {
            throw WireError(.wrongWireType, "field \(tag.number): expected \(type), got \(tag.wireType)")
        }
    }

    public mutating func uint64(_ tag: FieldTag) throws -> UInt64 {
        try expect(tag, .varint)
        return try readVarint()
    }

    public mutating func uint32(_ tag: FieldTag) throws -> UInt32 {
        let value = try uint64(tag)
        guard value <= UInt64(UInt32.max) else {
            throw WireError(.invalidValue, "field \(tag.number): \(value) does not fit 32 bits")
        }
        return UInt32(value)
    }

    public mutating func int(_ tag: FieldTag) throws -> Int {
        let raw = try uint64(tag)
        return Int(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
    }

    public mutating func bool(_ tag: FieldTag) throws -> Bool {
        try uint64(tag) != 0
    }

    public mutating func double(_ tag: FieldTag) throws -> Double {
        try expect(tag, .fixed64)
        guard remaining >= 8 else {
            throw WireError(.truncated, "field \(tag.number): payload ends inside a double")
        }
        let bits = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        position += 8
        // No field means NaN or infinity; letting one in would poison sorting, JSON and SQLite
        // (a NaN is stored as NULL), so it is malformed input like any other.
        let value = Double(bitPattern: bits)
        guard value.isFinite else {
            throw WireError(.invalidValue, "field \(tag.number): \(value) is not a finite number")
        }
        return value
    }

    public mutating func enumeration<E: RawRepresentable>(_ tag: FieldTag, as: E.Type = E.self) throws -> E
    where E.RawValue == UInt8 {
        let raw = try uint64(tag)
        guard raw <= UInt64(UInt8.max), let value = E(rawValue: UInt8(raw)) else {
            throw WireError(.invalidValue, "field \(tag.number): \(raw) is not a valid \(E.self)")
        }
        return value
    }

    @inline(__always)
    mutating func lengthDelimited(_ tag: FieldTag) throws -> UnsafeRawBufferPointer {
        try expect(tag, .lengthDelimited)
        let length = try readVarint()
        guard length <= UInt64(remaining) else {
            throw WireError(.truncated, "field \(tag.number): length \(length) runs past the payload")
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return UnsafeRawBufferPointer(rebasing: bytes[range])
    }

    public mutating func string(_ tag: FieldTag) throws -> String {
        try Self.text(try lengthDelimited(tag), tag)
    }

    /// An instance id: a canonical UUID is read into its 16 bytes without allocating, any
    /// other text is kept as a string.
    public mutating func instanceID(_ tag: FieldTag) throws -> InstanceID {
        let slice = try lengthDelimited(tag)
        if let (high, low) = InstanceID.parseUUID(slice) { return InstanceID(storage: .uuid(high, low)) }
        return InstanceID(storage: .text(try Self.text(slice, tag)))
    }

    /// `slice` as a string; throws unless it is valid UTF-8.
    @inline(__always)
    static func text(_ slice: UnsafeRawBufferPointer, _ tag: FieldTag) throws -> String {
        // ASCII (ids, names, states) needs no validation beyond the high bit, checked
        // eight bytes at a time.
        var high: UInt64 = 0
        var offset = 0
        while offset + 8 <= slice.count {
            high |= slice.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < slice.count {
            high |= UInt64(slice[offset])
            offset += 1
        }
        if high & 0x8080_8080_8080_8080 == 0 { return String(decoding: slice, as: UTF8.self) }
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw WireError(.invalidUTF8, "field \(tag.number): string is not valid UTF-8")
        }
        return string
    }

    public mutating func bytes(_ tag: FieldTag) throws -> [UInt8] {
        Array(try lengthDelimited(tag))
    }

    public mutating func message<M: WireDecodable>(_ tag: FieldTag, as: M.Type = M.self) throws -> M {
        var nested = try nested(tag)
        return try M(from: &nested)
    }

    /// A reader over the nested message in field `tag`.
    mutating func nested(_ tag: FieldTag) throws -> PayloadReader {
        let slice = try lengthDelimited(tag)
        guard depth < Self.maxDepth else {
            throw WireError(.invalidValue, "field \(tag.number): nesting deeper than \(Self.maxDepth)")
        }
        return PayloadReader(slice, depth: depth + 1)
    }

    /// Skips a field this reader does not know (forward compatibility).
    public mutating func skip(_ tag: FieldTag) throws {
        switch tag.wireType {
        case .varint:
            _ = try readVarint()
        case .fixed64:
            guard remaining >= 8 else { throw WireError(.truncated, "payload ends inside a fixed64") }
            position += 8
        case .fixed32:
            guard remaining >= 4 else { throw WireError(.truncated, "payload ends inside a fixed32") }
            position += 4
        case .lengthDelimited:
            _ = try lengthDelimited(tag)
        }
    }

    /// Throws ``WireError/Code/missingField`` when a required value was not present.
    public static func require<T>(_ value: T?, _ field: String, in type: String) throws -> T {
        guard let value else { throw WireError(.missingField, "\(type) is missing required field \(field)") }
        return value
    }

    /// A required field that must not be its zero value either: writers omit zero values,
    /// so an explicit 0 or "" in a required field is no valid message (a command id 0, an
    /// instance without an id).
    public static func requireNonZero<T: Equatable>(_ value: T?, _ field: String, in type: String, zero: T) throws -> T {
        let value = try require(value, field, in: type)
        guard value != zero else { throw WireError(.invalidValue, "\(type): required field \(field) is empty") }
        return value
    }
}
