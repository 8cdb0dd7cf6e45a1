/// Identifiers and secrets from the system CSPRNG.
///
/// Foundation's UUID initializer on Linux reads `/dev/urandom` through a file descriptor; when the
/// process has none left it returns the constant `00000000-0000-4000-8000-000000000000`, so
/// two rows get one id. `SystemRandomNumberGenerator` uses `getrandom(2)`, which needs no
/// descriptor and never fails silently. Every id and secret in Berth comes from here.
public enum RandomID {
    /// `count` bytes from the system CSPRNG.
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var result = [UInt8]()
        result.reserveCapacity(count + 8)
        while result.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { result.append(contentsOf: $0) }
        }
        return Array(result.prefix(count))
    }

    /// A random (version 4) UUID in lower-case text, the shape Anka clients expect of ids.
    public static func uuid() -> String {
        var raw = bytes(16)
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        let hex = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (index, byte) in raw.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `count` random characters of lower-case hex.
    public static func hex(_ count: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes(count).map { digits[Int($0 & 0x0F)] }, as: UTF8.self)
    }
}
