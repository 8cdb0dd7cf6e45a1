import NIOCore

/// Writes numbered fields into memory the writer owns.
///
/// Non-optional values equal to their default (0, `false`, empty) are omitted, so an
/// absent field and a default one read back the same. Optional values are written
/// whenever they are non-nil, so `nil` and `0` stay distinct.
///
/// Each field first makes room for its largest encoding (one capacity check), then
/// stores its bytes through a pointer with no further checks. The writer usually starts
/// in scratch memory the caller lends it (``WireEncodable/encodedPayload(allocator:)``
/// lends 1 KiB of stack) and moves to the heap only when a payload outgrows it, so
/// encoding a typical message allocates nothing until its bytes are copied once into the
/// `ByteBuffer` that leaves. It is noncopyable: two copies would share one pointer.
public struct PayloadWriter: ~Copyable {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    /// Bytes written so far.
    public private(set) var count: Int
    @usableFromInline var capacity: Int
    /// Whether `base` was allocated by this writer (and is freed by it).
    var ownsMemory: Bool

    /// A writer on the heap, starting with room for `capacity` bytes.
    public init(capacity: Int = 256) {
        let capacity = max(capacity, 16)
        base = .allocate(capacity: capacity)
        count = 0
        self.capacity = capacity
        ownsMemory = true
    }

    /// A writer that starts in `scratch`, which must outlive it; it moves to the heap if
    /// the payload outgrows `scratch`.
    init(scratch: UnsafeMutableBufferPointer<UInt8>) {
        base = scratch.baseAddress!
        count = 0
        capacity = scratch.count
        ownsMemory = false
    }

    deinit {
        if ownsMemory { base.deallocate() }
    }

    /// The bytes written so far (a copy).
    public var bytes: [UInt8] { Array(writtenBytes) }

    /// The bytes written so far, valid until the next write.
    var writtenBytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// The encoded payload as a `ByteBuffer` (a copy).
    public var buffer: ByteBuffer { ByteBuffer(bytes: writtenBytes) }

    // MARK: room and raw stores

    /// Makes room for `needed` more bytes.
    @inline(__always)
    mutating func reserve(_ needed: Int) {
        if _slowPath(capacity &- count < needed) { grow(needed) }
    }

    @inline(never)
    mutating func grow(_ needed: Int) {
        let newCapacity = max(capacity * 2, count + needed)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        if ownsMemory { base.deallocate() }
        base = newBase
        capacity = newCapacity
        ownsMemory = true
    }

    /// Leaves `count` bytes to be filled in later (a frame header); room must have been
    /// reserved.
    mutating func skip(_ count: Int) {
        self.count &+= count
    }

    /// Stores a byte; room must have been reserved.
    @inline(__always)
    mutating func store(_ byte: UInt8) {
        base[count] = byte
        count &+= 1
    }

    /// Stores a varint (at most 10 bytes); room must have been reserved.
    @inline(__always)
    mutating func storeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            store(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        store(UInt8(truncatingIfNeeded: v))
    }

    /// Stores a field key (at most 5 bytes); room must have been reserved.
    @inline(__always)
    mutating func storeKey(_ number: UInt32, _ type: WireType) {
        let key = UInt64(number) << 3 | UInt64(type.rawValue)
        if key < 0x80 {
            store(UInt8(truncatingIfNeeded: key))
        } else {
            storeVarint(key)
        }
    }

    /// Stores `bytes`; room must have been reserved.
    @inline(__always)
    mutating func store(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        UnsafeMutableRawPointer(base + count).copyMemory(from: source, byteCount: bytes.count)
        count &+= bytes.count
    }

    /// Room for a key and a varint.
    static let varintFieldSize = 15

    @inline(__always)
    mutating func writeVarintField(_ number: UInt32, _ value: UInt64) {
        reserve(Self.varintFieldSize)
        storeKey(number, .varint)
        storeVarint(value)
    }

    @inline(__always)
    static func zigzag(_ v: Int64) -> UInt64 {
        UInt64(bitPattern: (v << 1) ^ (v >> 63))
    }

    @inline(__always)
    mutating func writeFixed64Field(_ number: UInt32, _ value: UInt64) {
        reserve(13)
        storeKey(number, .fixed64)
        UnsafeMutableRawPointer(base + count).storeBytes(of: value.littleEndian, as: UInt64.self)
        count &+= 8
    }

    /// A key, a length and `bytes`.
    @inline(__always)
    mutating func writeLengthDelimited(_ number: UInt32, _ bytes: UnsafeRawBufferPointer) {
        reserve(15 &+ bytes.count)
        storeKey(number, .lengthDelimited)
        storeVarint(UInt64(bytes.count))
        store(bytes)
    }

    // MARK: scalars

    public mutating func write(_ number: UInt32, _ value: UInt64) {
        guard value != 0 else { return }
        writeVarintField(number, value)
    }

    public mutating func write(_ number: UInt32, _ value: UInt64?) {
        guard let value else { return }
        writeVarintField(number, value)
    }

    public mutating func write(_ number: UInt32, _ value: Int) {
        guard value != 0 else { return }
        writeVarintField(number, Self.zigzag(Int64(value)))
    }

    public mutating func write(_ number: UInt32, _ value: Int?) {
        guard let value else { return }
        writeVarintField(number, Self.zigzag(Int64(value)))
    }

    public mutating func write(_ number: UInt32, _ value: Bool) {
        guard value else { return }
        writeVarintField(number, 1)
    }

    /// Writes `value` even when it is zero or false: for fields whose default is not the
    /// zero value (an omitted field decodes as its default, so `false` or `0` would be lost).
    public mutating func writeExplicit(_ number: UInt32, _ value: Bool) {
        writeVarintField(number, value ? 1 : 0)
    }

    /// See ``writeExplicit(_:_:)-(UInt32,Bool)``.
    public mutating func writeExplicit(_ number: UInt32, _ value: Int) {
        writeVarintField(number, Self.zigzag(Int64(value)))
    }

    /// A NaN or infinity is written as absent (0): readers refuse non-finite doubles, and a
    /// figure computed from nothing (0/0) must not break the connection that carries it.
    public mutating func write(_ number: UInt32, _ value: Double) {
        guard value.isFinite, value != 0 || value.sign == .minus else { return }
        writeFixed64Field(number, value.bitPattern)
    }

    public mutating func write(_ number: UInt32, _ value: Double?) {
        guard let value, value.isFinite else { return }
        writeFixed64Field(number, value.bitPattern)
    }

    public mutating func write<E: RawRepresentable>(_ number: UInt32, _ value: E) where E.RawValue == UInt8 {
        write(number, UInt64(value.rawValue))
    }

    public mutating func write<E: RawRepresentable>(_ number: UInt32, _ value: E?) where E.RawValue == UInt8 {
        guard let value else { return }
        writeVarintField(number, UInt64(value.rawValue))
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
        var value = value
        value.withUTF8 { writeLengthDelimited(number, UnsafeRawBufferPointer($0)) }
    }

    /// An instance id, as its text (omitted when empty); a UUID is written straight from
    /// its 16 bytes.
    public mutating func write(_ number: UInt32, _ value: InstanceID) {
        switch value.storage {
        case .text(let text):
            write(number, text)
        case .uuid(let high, let low):
            reserve(2 &+ 36)
            storeKey(number, .lengthDelimited)
            store(36)
            InstanceID.formatUUID(high, low, into: base + count)
            count &+= 36
        }
    }

    public mutating func write(_ number: UInt32, bytes value: [UInt8]) {
        guard !value.isEmpty else { return }
        value.withUnsafeBytes { writeLengthDelimited(number, $0) }
    }

    /// Writes a nested message that is already encoded (its payload bytes), even when it is
    /// empty: on the wire it is the same as ``write(_:_:)-(UInt32,M)`` of the message itself.
    public mutating func write(_ number: UInt32, encodedMessage value: [UInt8]) {
        value.withUnsafeBytes { writeLengthDelimited(number, $0) }
    }

    public mutating func write(_ number: UInt32, _ values: [String]) {
        for index in values.indices { writeString(number, values[index]) }
    }

    public mutating func write<M: WireEncodable>(_ number: UInt32, _ value: M) {
        reserve(6)
        storeKey(number, .lengthDelimited)
        writeNested(value)
    }

    public mutating func write<M: WireEncodable>(_ number: UInt32, _ value: M?) {
        guard let value else { return }
        write(number, value)
    }

    public mutating func write<M: WireEncodable>(_ number: UInt32, _ values: [M]) {
        // Each entry is encoded where it lies: passed as a value, it was copied (retained
        // and released, field by field) once per entry.
        values.withUnsafeBufferPointer { entries in
            guard let first = entries.baseAddress else { return }
            for index in entries.indices {
                reserve(6)
                storeKey(number, .lengthDelimited)
                writeNested(at: first + index)
            }
        }
    }

    /// Writes a nested value with a varint length prefix. One byte is reserved for the
    /// length; only a nested value of 128 bytes or more pays for moving its bytes.
    /// Room for that byte must have been reserved.
    @inline(__always)
    mutating func writeNested<M: WireEncodable>(_ value: M) {
        let lengthIndex = count
        store(0)
        value.encode(to: &self)
        finishNested(lengthIndex)
    }

    /// ``writeNested(_:)`` for a value read in place through `pointer`.
    @inline(__always)
    mutating func writeNested<M: WireEncodable>(at pointer: UnsafePointer<M>) {
        let lengthIndex = count
        store(0)
        pointer.pointee.encode(to: &self)
        finishNested(lengthIndex)
    }

    /// Fills in the length of the nested value that started at `lengthIndex`.
    @inline(__always)
    mutating func finishNested(_ lengthIndex: Int) {
        let length = count &- lengthIndex &- 1
        if length < 0x80 {
            base[lengthIndex] = UInt8(truncatingIfNeeded: length)
        } else {
            widenLength(at: lengthIndex, length)
        }
    }

    /// Moves a nested value's `length` bytes to make room for its full varint length.
    @inline(never)
    mutating func widenLength(at lengthIndex: Int, _ length: Int) {
        var prefixLength = 1
        var rest = UInt64(length) >> 7
        while rest > 0 {
            prefixLength += 1
            rest >>= 7
        }
        reserve(prefixLength - 1)
        let body = base + lengthIndex + 1
        UnsafeMutableRawPointer(body + prefixLength - 1).copyMemory(from: body, byteCount: length)
        let end = count + prefixLength - 1
        count = lengthIndex
        storeVarint(UInt64(length))
        count = end
    }
}
