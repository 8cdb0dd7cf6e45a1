import NIOCore

/// Encodes `Encodable` values straight into JSON bytes in one pass, with no tree in between.
///
/// Foundation's `JSONEncoder` first builds a tree of boxed values and then serializes it:
/// on this machine a 10,000-instance `GET /api/v1/vm` took 400–900 ms in it. This encoder
/// writes each key and value as `encode(to:)` produces it, so the same list takes a few
/// tens of milliseconds.
///
/// The output is compact JSON:
/// - keys appear in the order `encode(to:)` writes them;
/// - `/` is not escaped (Anka's registry URLs stay readable);
/// - a non-finite `Double` is written as `null`;
/// - a ``RawJSON`` value is written verbatim (for stored JSON such as instance metadata).
///
/// Not thread-safe per call; make one per response (it holds no state between calls).
struct JSONBytesEncoder {
    /// The JSON for `value`.
    static func encode<T: Encodable>(_ value: T) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try append(value, to: &buffer)
        return buffer
    }

    /// Appends the JSON for `value` to `buffer`.
    static func append<T: Encodable>(_ value: T, to buffer: inout ByteBuffer) throws {
        let sink = JSONSink()
        try sink.encodeValue(value)
        buffer.writeBytes(sink.bytes)
    }
}

/// JSON text that is already valid, written as it is (only by ``JSONBytesEncoder``).
struct RawJSON: Encodable, Sendable {
    let text: String

    /// Another encoder sees a string: it cannot splice text.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// The output bytes, and the writers for JSON's scalars.
///
/// The bytes are a plain array owned by this one object and written by one caller at a
/// time, so the run-time exclusivity check on each write (a quarter of the encoder's time
/// when measured) is turned off for it.
final class JSONSink {
    @exclusivity(unchecked) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1024) }

    @inline(__always) func put(_ byte: UInt8) { bytes.append(byte) }

    @inline(__always) func put(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Bytes `from..<to` of `base`.
    @inline(__always) func put(_ base: UnsafePointer<UInt8>?, from: Int, to: Int) {
        guard let base, to > from else { return }
        bytes.append(contentsOf: UnsafeBufferPointer(start: base + from, count: to - from))
    }

    func encodeValue<T: Encodable>(_ value: T) throws {
        if T.self == RawJSON.self, let raw = value as? RawJSON {
            bytes.append(contentsOf: raw.text.utf8)
            return
        }
        let frame = JSONFrame(sink: self)
        try value.encode(to: JSONFrameEncoder(frame: frame))
        frame.finish()
    }

    func writeNull() { put("null") }

    func write(_ value: Bool) { value ? put("true") : put("false") }

    func write(_ value: Double) {
        guard value.isFinite else { return writeNull() }
        if value == value.rounded(), abs(value) < 1e15 {
            write(Int64(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    func write<I: FixedWidthInteger>(_ value: I) {
        if value == 0 {
            put(UInt8(ascii: "0"))
            return
        }
        // Up to 20 digits and a sign, written backwards into a small stack buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 21) { digits in
            var index = 21
            var magnitude = value.magnitude
            while magnitude > 0 {
                index -= 1
                digits[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            }
            if value < 0 {
                index -= 1
                digits[index] = UInt8(ascii: "-")
            }
            put(UnsafePointer(digits.baseAddress), from: index, to: 21)
        }
    }

    func write(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            put(UInt8(ascii: "\""))
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                put(utf8.baseAddress, from: start, to: index)
                writeEscape(byte)
                start = index + 1
            }
            put(utf8.baseAddress, from: start, to: utf8.count)
            put(UInt8(ascii: "\""))
        }
    }

    private func writeEscape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): put("\\\"")
        case UInt8(ascii: "\\"): put("\\\\")
        case UInt8(ascii: "\n"): put("\\n")
        case UInt8(ascii: "\r"): put("\\r")
        case UInt8(ascii: "\t"): put("\\t")
        case 0x08: put("\\b")
        case 0x0C: put("\\f")
        default:
            let hex: StaticString = "0123456789abcdef"
            put("\\u00")
            put(hex.utf8Start[Int(byte >> 4)])
            put(hex.utf8Start[Int(byte & 0xF)])
        }
    }
}

/// One value being encoded: which container it opened, how many elements it has written,
/// and a nested container still open inside it.
///
/// Codable never says when a container is done, so a frame closes when the `encode(to:)`
/// that owns it returns, and an open nested container closes before its parent writes
/// anything else.
final class JSONFrame {
    enum Kind { case none, keyed, unkeyed, single }

    let sink: JSONSink
    var kind = Kind.none
    var count = 0
    var child: JSONFrame?

    init(sink: JSONSink) { self.sink = sink }

    func open(_ wanted: Kind) {
        guard kind == .none else { return }
        kind = wanted
        switch wanted {
        case .keyed: sink.put(UInt8(ascii: "{"))
        case .unkeyed: sink.put(UInt8(ascii: "["))
        case .single, .none: break
        }
    }

    /// Before an element: closes an open nested container and writes the separator.
    func beginElement() {
        closeChild()
        if count > 0 { sink.put(UInt8(ascii: ",")) }
        count += 1
    }

    func beginKey(_ key: some CodingKey) {
        beginElement()
        sink.write(key.stringValue)
        sink.put(UInt8(ascii: ":"))
    }

    /// A nested container or encoder that stays open until this frame writes again.
    func openChild() -> JSONFrame {
        let frame = JSONFrame(sink: sink)
        child = frame
        return frame
    }

    func closeChild() {
        guard let open = child else { return }
        child = nil
        open.finish()
    }

    func finish() {
        closeChild()
        switch kind {
        case .keyed: sink.put(UInt8(ascii: "}"))
        case .unkeyed: sink.put(UInt8(ascii: "]"))
        case .single: break
        case .none: sink.put("{}")
        }
    }
}

struct JSONFrameEncoder: Encoder {
    let frame: JSONFrame
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        frame.open(.keyed)
        return KeyedEncodingContainer(JSONKeyedContainer<Key>(frame: frame))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        frame.open(.unkeyed)
        return JSONUnkeyedContainer(frame: frame)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        frame.open(.single)
        return JSONSingleValueContainer(frame: frame)
    }
}

struct JSONKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let frame: JSONFrame
    var codingPath: [any CodingKey] { [] }
    private var sink: JSONSink { frame.sink }

    init(frame: JSONFrame) { self.frame = frame }

    mutating func encodeNil(forKey key: Key) throws {
        frame.beginKey(key)
        sink.writeNull()
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(Double(value))
    }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: Int8, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: Int16, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: Int32, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: UInt, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        frame.beginKey(key)
        sink.write(value)
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        frame.beginKey(key)
        try sink.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        frame.beginKey(key)
        let child = frame.openChild()
        child.open(.keyed)
        return KeyedEncodingContainer(JSONKeyedContainer<NestedKey>(frame: child))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        frame.beginKey(key)
        let child = frame.openChild()
        child.open(.unkeyed)
        return JSONUnkeyedContainer(frame: child)
    }

    mutating func superEncoder() -> any Encoder {
        frame.beginKey(JSONSuperKey.super)
        return JSONFrameEncoder(frame: frame.openChild())
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        frame.beginKey(key)
        return JSONFrameEncoder(frame: frame.openChild())
    }
}

struct JSONUnkeyedContainer: UnkeyedEncodingContainer {
    let frame: JSONFrame
    var codingPath: [any CodingKey] { [] }
    var count: Int { frame.count }
    private var sink: JSONSink { frame.sink }

    mutating func encodeNil() throws {
        frame.beginElement()
        sink.writeNull()
    }
    mutating func encode(_ value: Bool) throws {
        frame.beginElement()
        sink.write(value)
    }
    mutating func encode(_ value: String) throws {
        frame.beginElement()
        sink.write(value)
    }
    mutating func encode(_ value: Double) throws {
        frame.beginElement()
        sink.write(value)
    }
    mutating func encode(_ value: Float) throws {
        frame.beginElement()
        sink.write(Double(value))
    }
    mutating func encode(_ value: Int) throws {
        frame.beginElement()
        sink.write(value)
    }
    mutating func encode(_ value: Int64) throws {
        frame.beginElement()
        sink.write(value)
    }
    mutating func encode(_ value: UInt64) throws {
        frame.beginElement()
        sink.write(value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        frame.beginElement()
        try sink.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        frame.beginElement()
        let child = frame.openChild()
        child.open(.keyed)
        return KeyedEncodingContainer(JSONKeyedContainer<NestedKey>(frame: child))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        frame.beginElement()
        let child = frame.openChild()
        child.open(.unkeyed)
        return JSONUnkeyedContainer(frame: child)
    }

    mutating func superEncoder() -> any Encoder {
        frame.beginElement()
        return JSONFrameEncoder(frame: frame.openChild())
    }
}

struct JSONSingleValueContainer: SingleValueEncodingContainer {
    let frame: JSONFrame
    var codingPath: [any CodingKey] { [] }
    private var sink: JSONSink { frame.sink }

    mutating func encodeNil() throws { sink.writeNull() }
    mutating func encode(_ value: Bool) throws { sink.write(value) }
    mutating func encode(_ value: String) throws { sink.write(value) }
    mutating func encode(_ value: Double) throws { sink.write(value) }
    mutating func encode(_ value: Float) throws { sink.write(Double(value)) }
    mutating func encode(_ value: Int) throws { sink.write(value) }
    mutating func encode(_ value: Int8) throws { sink.write(value) }
    mutating func encode(_ value: Int16) throws { sink.write(value) }
    mutating func encode(_ value: Int32) throws { sink.write(value) }
    mutating func encode(_ value: Int64) throws { sink.write(value) }
    mutating func encode(_ value: UInt) throws { sink.write(value) }
    mutating func encode(_ value: UInt8) throws { sink.write(value) }
    mutating func encode(_ value: UInt16) throws { sink.write(value) }
    mutating func encode(_ value: UInt32) throws { sink.write(value) }
    mutating func encode(_ value: UInt64) throws { sink.write(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try sink.encodeValue(value) }
}

/// The key `superEncoder()` writes under, as Foundation's encoder does.
enum JSONSuperKey: String, CodingKey {
    case `super`
}

/// A key chosen at run time (for maps whose keys are data).
struct JSONKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }

    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { stringValue = String(intValue) }
}
