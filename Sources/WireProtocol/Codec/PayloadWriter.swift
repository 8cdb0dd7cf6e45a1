import NIOCore

/// Writes numbered fields into a `ByteBuffer`.
///
/// Non-optional values equal to their default (0, `false`, empty) are omitted, so an
/// absent field and a default one read back the same. Optional values are written
/// whenever they are non-nil, so `nil` and `0` stay distinct.
public struct PayloadWriter {
    public var buffer: ByteBuffer

    public init(buffer: ByteBuffer = ByteBuffer()) {
        self.buffer = buffer
    }

    @inline(__always)
    mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        buffer.writeInteger(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    mutating func writeKey(_ number: UInt32, _ type: WireType) {
        writeVarint(UInt64(number) << 3 | UInt64(type.rawValue))
    }

    @inline(__always)
    static func zigzag(_ v: Int64) -> UInt64 {
        UInt64(bitPattern: (v << 1) ^ (v >> 63))
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

    public mutating func write(_ number: UInt32, _ value: Double) {
        guard value != 0 || value.sign == .minus else { return }
        writeKey(number, .fixed64)
        buffer.writeInteger(value.bitPattern, endianness: .little)
    }

    public mutating func write(_ number: UInt32, _ value: Double?) {
        guard let value else { return }
        writeKey(number, .fixed64)
        buffer.writeInteger(value.bitPattern, endianness: .little)
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
            buffer.writeBytes(utf8)
        }
    }

    public mutating func write(_ number: UInt32, bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        writeKey(number, .lengthDelimited)
        writeVarint(UInt64(bytes.count))
        buffer.writeBytes(bytes)
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
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt8(0))
        let start = buffer.writerIndex
        value.encode(to: &self)
        let length = buffer.writerIndex - start
        if length < 0x80 {
            buffer.setInteger(UInt8(length), at: lengthIndex)
            return
        }
        var prefix = ByteBuffer()
        var prefixWriter = PayloadWriter(buffer: prefix)
        prefixWriter.writeVarint(UInt64(length))
        prefix = prefixWriter.buffer
        let content = buffer.getSlice(at: start, length: length)!
        let contentCopy = ByteBuffer(buffer: content)
        buffer.moveWriterIndex(to: lengthIndex)
        buffer.writeImmutableBuffer(prefix)
        buffer.writeImmutableBuffer(contentCopy)
    }
}

extension ByteBuffer {
    fileprivate init(buffer: ByteBuffer) {
        self = ByteBuffer()
        var copy = buffer
        self.writeBuffer(&copy)
    }
}
