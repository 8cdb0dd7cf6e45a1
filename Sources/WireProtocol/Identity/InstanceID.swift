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

    public var isEmpty: Bool {
        if case .text(let text) = storage { return text.isEmpty }
        return false
    }

    /// The id's text, as it travels.
    public var description: String {
        switch storage {
        case .text(let text):
            return text
        case .uuid(let high, let low):
            return String(unsafeUninitializedCapacity: 36) {
                Self.formatUUID(high, low, into: $0.baseAddress!)
                return 36
            }
        }
    }

    static let ones: UInt64 = 0x0101_0101_0101_0101

    /// Eight lower-case hex digits, loaded little-endian (the first digit in the low
    /// byte), as the 32-bit number they spell; `invalid` gets a high bit set for any byte
    /// that is not one.
    ///
    /// All eight are checked and converted at once in one 64-bit word (SWAR), rather than
    /// digit by digit with a branch each.
    @inline(__always)
    static func hex8(_ text: UInt64, _ invalid: inout UInt64) -> UInt64 {
        // Each byte b < 0x80 (checked below): b + (0x80 - lo) has its high bit set iff
        // b >= lo, and b + (0x7F - hi) iff b > hi; no sum carries into the next byte.
        let atLeastZero = text &+ (0x80 &- 0x30) &* ones
        let aboveNine = text &+ (0x7F &- 0x39) &* ones
        let atLeastA = text &+ (0x80 &- 0x61) &* ones
        let aboveF = text &+ (0x7F &- 0x66) &* ones
        let digit = atLeastZero & ~aboveNine
        let letter = atLeastA & ~aboveF
        let high = 0x80 &* ones
        invalid |= (text | ~(digit | letter)) & high
        // '0'…'9' are 0x30…0x39 and 'a'…'f' 0x61…0x66: the low nibble, plus 9 for a letter.
        var value = (text & (0x0F &* ones)) &+ ((letter & high) >> 7) &* 9
        // The first digit is the most significant: gather nibble pairs, then bytes, then halves.
        value = value.byteSwapped
        value = (value | value >> 4) & 0x00FF_00FF_00FF_00FF
        value = (value | value >> 8) & 0x0000_FFFF_0000_FFFF
        value = (value | value >> 16) & 0xFFFF_FFFF
        return value
    }

    /// The eight lower-case hex digits of the 32-bit `value`, little-endian (the first,
    /// most significant digit in the low byte), for storing as text.
    @inline(__always)
    static func hexText8(_ value: UInt64) -> UInt64 {
        var spread = value & 0xFFFF_FFFF
        spread = (spread | spread << 16) & 0x0000_FFFF_0000_FFFF
        spread = (spread | spread << 8) & 0x00FF_00FF_00FF_00FF
        spread = (spread | spread << 4) & 0x0F0F_0F0F_0F0F_0F0F
        // A nibble of 10 or more becomes a letter: 'a' - '0' - 10 = 39 more.
        let isLetter = ((spread &+ 0x06 &* ones) >> 4) & ones
        let text = spread &+ 0x30 &* ones &+ isLetter &* 39
        return text.byteSwapped
    }

    /// The two halves of a canonical lower-case UUID (`8-4-4-4-12` hex digits), or `nil`.
    static func parseUUID(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64)? {
        guard bytes.count == 36,
            bytes[8] == UInt8(ascii: "-"), bytes[13] == UInt8(ascii: "-"),
            bytes[18] == UInt8(ascii: "-"), bytes[23] == UInt8(ascii: "-")
        else { return nil }
        func load8(_ offset: Int) -> UInt64 {
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
        func load4and4(_ first: Int, _ second: Int) -> UInt64 {
            let low = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: first, as: UInt32.self))
            let high = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: second, as: UInt32.self))
            return UInt64(low) | UInt64(high) << 32
        }
        var invalid: UInt64 = 0
        let first = hex8(load8(0), &invalid)
        let second = hex8(load4and4(9, 14), &invalid)
        let third = hex8(load4and4(19, 24), &invalid)
        let fourth = hex8(load8(28), &invalid)
        let high = first << 32 | second
        let low = third << 32 | fourth
        return invalid == 0 ? (high, low) : nil
    }

    /// Writes the 36 characters of the UUID `high`, `low` at `text`.
    @inline(__always)
    static func formatUUID(_ high: UInt64, _ low: UInt64, into text: UnsafeMutablePointer<UInt8>) {
        let raw = UnsafeMutableRawPointer(text)
        let dash = UInt8(ascii: "-")
        raw.storeBytes(of: hexText8(high >> 32).littleEndian, toByteOffset: 0, as: UInt64.self)
        // Groups of four: the first four digits are the low half of the eight.
        let middle = hexText8(high)
        raw.storeBytes(of: UInt32(truncatingIfNeeded: middle).littleEndian, toByteOffset: 9, as: UInt32.self)
        raw.storeBytes(of: UInt32(truncatingIfNeeded: middle >> 32).littleEndian, toByteOffset: 14, as: UInt32.self)
        let fourth = hexText8(low >> 32)
        raw.storeBytes(of: UInt32(truncatingIfNeeded: fourth).littleEndian, toByteOffset: 19, as: UInt32.self)
        raw.storeBytes(of: UInt32(truncatingIfNeeded: fourth >> 32).littleEndian, toByteOffset: 24, as: UInt32.self)
        raw.storeBytes(of: hexText8(low).littleEndian, toByteOffset: 28, as: UInt64.self)
        text[8] = dash
        text[13] = dash
        text[18] = dash
        text[23] = dash
    }
}
