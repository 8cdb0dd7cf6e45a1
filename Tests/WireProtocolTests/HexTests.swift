import Testing
import WireProtocol

@Suite struct HexTests {
    @Test func bytesBecomeTwoLowerCaseDigitsEach() {
        #expect(Hex.lowercase([UInt8]()) == "")
        #expect(Hex.lowercase([0x00, 0x0f, 0x10, 0xab, 0xff]) == "000f10abff")
        let all = (0...255).map { UInt8($0) }
        #expect(Hex.lowercase(all) == all.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined())
    }
}
