/// How a field's value is laid out, taken from the low 3 bits of its key.
///
/// The layout lets a reader skip a field it does not know, which is what allows a newer
/// peer to add fields that an older one ignores.
public enum WireType: UInt8, Sendable {
    /// Unsigned LEB128 varint (integers, booleans, enums; signed values zigzag-encoded).
    case varint = 0
    /// Eight bytes, little-endian (doubles).
    case fixed64 = 1
    /// A varint byte count, then that many bytes (strings, bytes, nested messages).
    case lengthDelimited = 2
    /// Four bytes, little-endian (reserved for future use).
    case fixed32 = 5
}

/// A decoded field key: field number and wire type.
public struct FieldTag: Sendable, Equatable {
    public var number: UInt32
    public var wireType: WireType
}
