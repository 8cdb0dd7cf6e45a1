/// Lower-case hex text of bytes (certificate serials, chunk hashes), without `String(format:)`,
/// which costs a formatter per byte and showed in profiles of a fleet reconnecting.
public enum Hex {
    /// `bytes` as lower-case hex, two digits a byte.
    public static func lowercase(_ bytes: some Collection<UInt8>) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            var index = 0
            for byte in bytes {
                buffer[index] = digits.utf8Start[Int(byte >> 4)]
                buffer[index + 1] = digits.utf8Start[Int(byte & 0x0F)]
                index += 2
            }
            return index
        }
    }
}
