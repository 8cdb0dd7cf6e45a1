import NIOCore

/// Writes numbered fields into a growable byte array.
///
/// Non-optional values equal to their default (0, `false`, empty) are omitted, so an
/// absent field and a default one read back the same. Optional values are written
/// whenever they are non-nil, so `nil` and `0` stay distinct.
///
/// Bytes go into a `[UInt8]` rather than straight into a `ByteBuffer`: per-byte appends to
/// an array are an order of magnitude cheaper, and the result is copied once at the end.
public struct PayloadWriter {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// The encoded payload as a `ByteBuffer`.
    public var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    @inline(__always)
    mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    mutating func writeKey(_ number: UInt32, _ type: WireType) {
        writeVarint(UInt64(number) << 3 | UInt64(type.rawValue))
    }

    @inline(__always)
    static func zigzag(_ v: Int64) -> UInt64 {
        UInt64(bitPattern: (v << 1) ^ (v >> 63))
    }

    @inline(__always)
    mutating func writeFixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    // MARK: scalars

    public mutating func write(_ number: UInt32, _ value: UInt64) {
        guard value != 0 else { return }
        writeKey(number, .varint)
        writeVarint(value)
    }

    public mutating func write(_ number: UInt32, _ value: UInt64?) {
        guard let value else { return }
        writeKey(number, .varint)
        writeVarint(value)
    }

    public mutating func write(_ number: UInt32, _ value: Int) {
        guard value != 0 else { return }
        writeKey(number, .varint)
        writeVarint(Self.zigzag(Int64(value)))
    }

    public mutating func write(_ number: UInt32, _ value: Int?) {
        guard let value else { return }
        writeKey(number, .varint)
        writeVarint(Self.zigzag(Int64(value)))
    }

    public mutating func write(_ number: UInt32, _ value: Bool) {
        guard value else { return }
        writeKey(number, .varint)
        writeVarint(1)
    }

    /// Writes `value` even when it is zero or false: for fields whose default is not the
    /// zero value (an omitted field decodes as its default, so `false` or `0` would be lost).
    public mutating func writeExplicit(_ number: UInt32, _ value: Bool) {
        writeKey(number, .varint)
        writeVarint(value ? 1 : 0)
    }

    /// See ``writeExplicit(_:_:)-(UInt32,Bool)``.
    public mutating func writeExplicit(_ number: UInt32, _ value: Int) {
        writeKey(number, .varint)
        writeVarint(Self.zigzag(Int64(value)))
    }

    /// A NaN or infinity is written as absent (0): readers refuse non-finite doubles, and a
    /// figure computed from nothing (0/0) must not break the connection that carries it.
    public mutating func write(_ number: UInt32, _ value: Double) {
        guard value.isFinite, value != 0 || value.sign == .minus else { return }
        writeKey(number, .fixed64)
        writeFixed64(value.bitPattern)
    }

    public mutating func write(_ number: UInt32, _ value: Double?) {
        guard let value, value.isFinite else { return }
        writeKey(number, .fixed64)
        writeFixed64(value.bitPattern)
    }

    public mutating func write<E: RawRepresentable>(_ number: UInt32, _ value: E) where E.RawValue == UInt8 {
        write(number, UInt64(value.rawValue))
    }

    public mutating func write<E: RawRepresentable>(_ number: UInt32, _ value: E?) where E.RawValue == UInt8 {
        guard let value else { return }
        write(number, UInt64?(UInt64(value.rawValue)))
    }

    // MARK: length-delimited

    public mutating func write(_ number: UInt32, _ value: String) {
        guard !value.isEmpty else { return }
        writeString(number, value)
    }

    public mutating func write(_ number: UInt32, _ value: String?) {
        guard let value else { return }
        writeString(number, value)
    }

    @inline(__always)
    mutating func writeString(_ number: UInt32, _ value: String) {
        writeKey(number, .lengthDelimited)
        var value = value
        value.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// An instance id, as its text (omitted when empty); a UUID is written straight from
    /// its 16 bytes.
    public mutating func write(_ number: UInt32, _ value: InstanceID) {
        switch value.storage {
        case .text(let text):
            write(number, text)
        case .uuid(let high, let low):
            writeKey(number, .lengthDelimited)
            writeVarint(36)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 36) { text in
                _ = InstanceID.formatUUID(high, low, into: text)
                bytes.append(contentsOf: text)
            }
        }
    }

    public mutating func write(_ number: UInt32, bytes value: [UInt8]) {
        guard !value.isEmpty else { return }
        writeKey(number, .lengthDelimited)
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Writes a nested message that is already encoded (its payload bytes), even when it is
    /// empty: on the wire it is the same as ``write(_:_:)-(UInt32,M)`` of the message itself.
    public mutating func write(_ number: UInt32, encodedMessage value: [UInt8]) {
        writeKey(number, .lengthDelimited)
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func write(_ number: UInt32, _ values: [String]) {
        for value in values { writeString(number, value) }
    }

    public mutating func write<M: WireEncodable>(_ number: UInt32, _ value: M) {
        writeKey(number, .lengthDelimited)
        writeNested(value)
    }

    public mutating func write<M: WireEncodable>(_ number: UInt32, _ value: M?) {
        guard let value else { return }
        write(number, value)
    }

    public mutating func write<M: WireEncodable>(_ number: UInt32, _ values: [M]) {
        for value in values { write(number, value) }
    }

    /// Writes a nested value with a varint length prefix. One byte is reserved for the
    /// length; only a nested value of 128 bytes or more pays for moving its bytes.
    @inline(__always)
    mutating func writeNested<M: WireEncodable>(_ value: M) {
        let lengthIndex = bytes.count
        bytes.append(0)
        value.encode(to: &self)
        let length = bytes.count - lengthIndex - 1
        if length < 0x80 {
            bytes[lengthIndex] = UInt8(length)
            return
        }
        var prefix = PayloadWriter(capacity: 10)
        prefix.writeVarint(UInt64(length))
        bytes.replaceSubrange(lengthIndex..<(lengthIndex + 1), with: prefix.bytes)
    }
}
