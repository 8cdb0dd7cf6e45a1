import Testing

@testable import WireProtocol

/// Instance ids held inline must travel exactly as their text did.
@Suite struct InstanceIDTests {
    @Test func canonicalUUIDsAreHeldInlineAndFormatBackExactly() {
        for _ in 0..<1_000 {
            let text = RandomID.uuid()
            let id = InstanceID(text)
            guard case .uuid = id.storage else {
                Issue.record("\(text) was not parsed")
                return
            }
            #expect(id.description == text)
            #expect(InstanceID(id.description) == id)
        }
    }

    /// Every byte value at every digit position: only lower-case hex digits parse, and a
    /// parsed id formats back to the same text (the checks run eight digits at a time).
    @Test func everyByteAtEveryDigitPositionIsJudgedAlone() {
        let base = Array("0e562635-19f8-4557-bbb8-13fa284dd000".utf8)
        let digits = Set("0123456789abcdef".utf8)
        for position in base.indices where base[position] != UInt8(ascii: "-") {
            for byte in UInt8.min...UInt8.max {
                var text = base
                text[position] = byte
                let parsed = text.withUnsafeBytes { InstanceID.parseUUID($0) }
                #expect((parsed != nil) == digits.contains(byte), "byte \(byte) at \(position)")
                if let (high, low) = parsed {
                    let formatted = String(unsafeUninitializedCapacity: 36) {
                        InstanceID.formatUUID(high, low, into: $0.baseAddress!)
                        return 36
                    }
                    #expect(Array(formatted.utf8) == text)
                }
            }
        }
    }

    @Test func otherShapesStayText() {
        for text in [
            "", "i1", "0E562635-19F8-4557-BBB8-13FA284DD000", "0e562635-19f8-4557-bbb8-13fa284dd00",
            "0e562635-19f8-4557-bbb8-13fa284dd0000",
            "0e562635x19f8-4557-bbb8-13fa284dd000", "0e562635-19f8-4557-bbb8-13fa284dd00g",
            "{0e562635-19f8-4557-bbb8-13fa284dd000",
            "ünïcödé-ïd",
        ] {
            let id = InstanceID(text)
            guard case .text(let kept) = id.storage else {
                Issue.record("\(text) was parsed as a UUID")
                continue
            }
            #expect(kept == text)
            #expect(id.description == text)
        }
        #expect(InstanceID("").isEmpty)
    }

    /// The wire bytes are those of the id as a string field, for both forms, so peers that
    /// decode a `String` read the same id.
    @Test func theWireCarriesTheTextEitherWay() throws {
        for text in [RandomID.uuid(), "i-42", "0E562635-19F8-4557-BBB8-13FA284DD000"] {
            var asID = PayloadWriter()
            asID.write(1, InstanceID(text))
            var asText = PayloadWriter()
            asText.write(1, text)
            #expect(asID.bytes == asText.bytes)
            let status = InstanceStatus(instanceID: text, state: .started, message: "m")
            let back = try InstanceStatus(bytes: status.encodedBytes())
            #expect(back == status)
            #expect(back.instanceID == text)
        }
    }

    @Test func aHeartbeatWithManyEntriesDecodesWhole() throws {
        let instances = (0..<300).map { _ in InstanceStatus(instanceID: RandomID.uuid(), state: .started) }
        let heartbeat = Heartbeat(sequence: 1, instances: instances)
        #expect(try Heartbeat(bytes: heartbeat.encodedBytes()) == heartbeat)
    }
}
