/// An instance id as a value: a canonical lower-case UUID's 16 bytes held inline, or, for
/// an id of any other shape, its text.
///
/// Instance ids travel in every heartbeat, event and hello. As a `String` each one is a
/// heap allocation on decode (36 characters do not fit a small string); as this value it
/// is parsed from and written as the same 36 characters on the wire, with no allocation.
/// The text form round-trips exactly: only the canonical lower-case form is parsed, so
/// formatting it gives back the very bytes that came in.
public struct InstanceID: Hashable, Sendable, CustomStringConvertible {
    enum Storage: Hashable, Sendable {
        case uuid(UInt64, UInt64)
        case text(String)
    }

    let storage: Storage

    /// The id `text`; a canonical lower-case UUID is held as its 16 bytes.
    public init(_ text: String) {
        var text = text
        let parsed = text.withUTF8 { Self.parseUUID(UnsafeRawBufferPointer($0)) }
        storage = parsed.map { .uuid($0.0, $0.1) } ?? .text(text)
    }

    init(storage: Storage) { self.storage = storage }

    /// An empty id (the zero value of a required field).
    public static let empty = InstanceID(storage: .text(""))

    public var isEmpty: Bool { storage == .text("") }

    /// The id's text, as it travels.
    public var description: String {
        switch storage {
        case .text(let text):
            return text
        case .uuid(let high, let low):
            return String(unsafeUninitializedCapacity: 36) { Self.formatUUID(high, low, into: $0) }
        }
    }

    /// The value of a lower-case hex digit, or 16 or more for any other byte.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt64 {
        let digit = byte &- UInt8(ascii: "0")
        if digit < 10 { return UInt64(digit) }
        let letter = byte &- UInt8(ascii: "a")
        return letter < 6 ? UInt64(letter &+ 10) : 0xFF
    }

    /// Reads `count` hex digits from `offset` onto the end of `value`; ORs every digit's
    /// value into `invalid`, which is 16 or more when one was not a hex digit.
    @inline(__always)
    static func readHex(
        _ bytes: UnsafeRawBufferPointer,
        _ offset: Int,
        _ count: Int,
        into value: inout UInt64,
        _ invalid: inout UInt64
    ) {
        for index in offset..<(offset + count) {
            let digit = hexValue(bytes[index])
            invalid |= digit
            value = value << 4 | (digit & 0xF)
        }
    }

    /// The two halves of a canonical lower-case UUID (`8-4-4-4-12` hex digits), or `nil`.
    static func parseUUID(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64)? {
        guard bytes.count == 36,
            bytes[8] == UInt8(ascii: "-"), bytes[13] == UInt8(ascii: "-"),
            bytes[18] == UInt8(ascii: "-"), bytes[23] == UInt8(ascii: "-")
        else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var invalid: UInt64 = 0
        readHex(bytes, 0, 8, into: &high, &invalid)
        readHex(bytes, 9, 4, into: &high, &invalid)
        readHex(bytes, 14, 4, into: &high, &invalid)
        readHex(bytes, 19, 4, into: &low, &invalid)
        readHex(bytes, 24, 12, into: &low, &invalid)
        return invalid < 16 ? (high, low) : nil
    }

    /// Writes `count` hex digits of the top of `value` from `offset`, and shifts them out.
    @inline(__always)
    static func writeHex(
        _ text: UnsafeMutableBufferPointer<UInt8>,
        _ offset: Int,
        _ count: Int,
        from value: inout UInt64
    ) {
        let hex: StaticString = "0123456789abcdef"
        let digits = hex.utf8Start
        for index in offset..<(offset + count) {
            text[index] = digits[Int(truncatingIfNeeded: value >> 60)]
            value <<= 4
        }
    }

    /// Writes the 36 characters of the UUID `high`, `low` into `text`; returns 36.
    static func formatUUID(_ high: UInt64, _ low: UInt64, into text: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var high = high
        var low = low
        writeHex(text, 0, 8, from: &high)
        text[8] = UInt8(ascii: "-")
        writeHex(text, 9, 4, from: &high)
        text[13] = UInt8(ascii: "-")
        writeHex(text, 14, 4, from: &high)
        text[18] = UInt8(ascii: "-")
        writeHex(text, 19, 4, from: &low)
        text[23] = UInt8(ascii: "-")
        writeHex(text, 24, 12, from: &low)
        return 36
    }
}
