import RESTGateway
import TarFormat
import Testing

/// The push route's tar parser on streams a client shaped by hand.
@Suite struct TarStreamParserTests {
    /// A 512-byte header with a valid checksum.
    static func header(name: String, size: Int, type: Character) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        header.replaceSubrange(0..<name.utf8.count, with: Array(name.utf8))
        let octalSize = Array(String(size, radix: 8).leftPadded(to: 11).utf8)
        header.replaceSubrange(124..<135, with: octalSize)
        header[156] = UInt8(ascii: type.asciiValue.map { Unicode.Scalar($0) } ?? "0")
        header.replaceSubrange(257..<263, with: Array("ustar\0".utf8))
        header.replaceSubrange(263..<265, with: Array("00".utf8))
        let sum = header.enumerated().reduce(0) { $0 + (148..<156 ~= $1.offset ? 32 : Int($1.element)) }
        header.replaceSubrange(148..<155, with: Array(String(sum, radix: 8).leftPadded(to: 6).utf8) + [0])
        return header
    }

    static func padded(_ bytes: [UInt8]) -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512)
    }

    /// Found by `scripts/fuzz` (FuzzTar): a pax record whose length ("2") ends before its
    /// own length field and space did trap on a reversed range. It is refused, in any split.
    @Test func aPaxRecordShorterThanItsLengthFieldIsRefused() {
        for record in ["002 path=deep/deep/file\n", "2 x", "5 a\n"] {
            let body = Array(record.utf8)
            let stream =
                Self.header(name: "././@PaxHeader", size: body.count, type: "x") + Self.padded(body)
                + Self.header(name: "vm.yaml", size: 0, type: "0") + [UInt8](repeating: 0, count: 1024)
            for piece in [1, 7, 300, stream.count] {
                #expect(throws: (any Error).self, "record \(record.debugDescription), pieces of \(piece)") {
                    try GatewayFuzzing.parseTar(stream, piece: piece)
                }
            }
        }
    }

    /// A well-formed pax path still names the entry that follows.
    @Test func aWellFormedPaxPathIsHonoured() throws {
        let record = "23 path=deep/deep/file\n"
        #expect(record.utf8.count == 23)
        let body = Array(record.utf8)
        let stream =
            Self.header(name: "././@PaxHeader", size: body.count, type: "x") + Self.padded(body)
            + Self.header(name: "vm.yaml", size: 0, type: "0") + [UInt8](repeating: 0, count: 1024)
        #expect(try GatewayFuzzing.parseTar(stream, piece: 5) == 2)  // fileStart and fileEnd
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
