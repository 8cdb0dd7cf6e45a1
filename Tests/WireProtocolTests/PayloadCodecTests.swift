import NIOCore
import Testing
import WireProtocol

@Suite struct PayloadCodecTests {
    static func payload(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

    static func code(_ body: () throws -> Void) -> WireError.Code? {
        do {
            try body()
            return nil
        } catch let error as WireError {
            return error.code
        } catch {
            return .unknown
        }
    }

    @Test func unknownFieldsOfEveryWireTypeAreSkipped() throws {
        var writer = PayloadWriter()
        GoldenSamples.hello.encode(to: &writer)
        var buffer = writer.buffer
        buffer.writeBytes([0xB8, 0x06, 0x05])  // field 103, varint 5
        buffer.writeBytes([0xC1, 0x06] + [UInt8](repeating: 1, count: 8))  // field 104, fixed64
        buffer.writeBytes([0xCA, 0x06, 0x03, 0x61, 0x62, 0x63])  // field 105, length-delimited "abc"
        buffer.writeBytes([0xD5, 0x06, 1, 2, 3, 4])  // field 106, fixed32
        #expect(try Hello(payload: buffer) == GoldenSamples.hello)
    }

    /// The writer starts in 1 KiB of scratch memory and moves to the heap past it; a nested
    /// value of 128 bytes or more (or 16 KiB or more) moves its bytes for a longer length.
    @Test func largePayloadsAndLongNestedLengthsRoundTrip() throws {
        for messageLength in [0, 100, 127, 128, 200, 16_383, 16_384, 40_000] {
            let message = String(repeating: "m", count: messageLength)
            let instances = (0..<40).map {
                InstanceStatus(instanceID: "i-\($0)", state: .started, progress: 0.5, message: message)
            }
            let heartbeat = Heartbeat(sequence: 9, cpuUtil: 0.25, instances: instances)
            let bytes = heartbeat.encodedBytes()
            #expect(try Heartbeat(bytes: bytes) == heartbeat)
            #expect(Array(buffer: heartbeat.encodedPayload()) == bytes)
            var wire = heartbeat.frame(streamID: 7).wireBytes()
            #expect(wire.readableBytes == Frame.headerSize + bytes.count)
            var decoder = FrameDecoder(maxPayloadSize: 8 * 1024 * 1024)
            let frame = try #require(try decoder.decode(buffer: &wire))
            #expect(frame.type == .heartbeat && frame.streamID == 7)
            #expect(try Heartbeat(payload: frame.payload) == heartbeat)
        }
    }

    @Test func anOlderMessageDecodesIntoANewerShapeWithDefaults() throws {
        // A peer that only knows fields 1 and 2 of Heartbeat sends them; the rest default.
        let buffer = Self.payload([0x08, 0x07, 0x11] + Array(repeating: 0, count: 8))
        let heartbeat = try Heartbeat(payload: buffer)
        #expect(heartbeat.sequence == 7)
        #expect(heartbeat.instances.isEmpty)
    }

    @Test func truncatedVarintIsTruncated() {
        #expect(Self.code { _ = try Ping(payload: Self.payload([0x08, 0x80])) } == .truncated)
    }

    @Test func elevenByteVarintIsMalformed() {
        let bytes: [UInt8] = [0x08] + Array(repeating: 0xFF, count: 10) + [0x01]
        #expect(Self.code { _ = try Ping(payload: Self.payload(bytes)) } == .malformedVarint)
    }

    @Test func knownFieldWithWrongWireTypeIsRefused() {
        // Ping field 1 is a varint; send it length-delimited.
        #expect(Self.code { _ = try Ping(payload: Self.payload([0x0A, 0x01, 0x00])) } == .wrongWireType)
    }

    @Test func reservedWireTypeIsRefused() {
        #expect(Self.code { _ = try Ping(payload: Self.payload([0x0B])) } == .wrongWireType)
    }

    @Test func lengthPastTheEndIsTruncated() {
        #expect(Self.code { _ = try Hello(payload: Self.payload([0x22, 0x7F, 0x61])) } == .truncated)
    }

    @Test func invalidUTF8IsRefused() {
        #expect(Self.code { _ = try Hello(payload: Self.payload([0x22, 0x02, 0xC3, 0x28])) } == .invalidUTF8)
    }

    @Test func unknownEnumValueIsRefused() {
        // InstanceStatus: id "i", state 200.
        #expect(
            Self.code { _ = try InstanceStatus(payload: Self.payload([0x0A, 0x01, 0x69, 0x10, 0xC8, 0x01])) }
                == .invalidValue
        )
    }

    @Test func missingRequiredFieldIsNamed() throws {
        do {
            _ = try NodeCommand(payload: Self.payload([0x08, 0x01]))
            Issue.record("expected an error")
        } catch let error as WireError {
            #expect(error.code == .missingField)
            #expect(error.reason.contains("kind"))
        }
    }

    @Test func fieldNumberZeroIsRefused() {
        #expect(Self.code { _ = try Ping(payload: Self.payload([0x00, 0x01])) } == .invalidValue)
    }

    /// A recursive shape, to check that nesting depth is capped for any future message.
    struct Tree: WireCodable, Equatable {
        var children: [Tree] = []
        func encode(to w: inout PayloadWriter) { w.write(1, children) }
        init() {}
        init(from r: inout PayloadReader) throws {
            while let tag = try r.next() {
                if tag.number == 1 { children.append(try r.message(tag)) } else { try r.skip(tag) }
            }
        }
    }

    @Test func nestingDepthIsCapped() throws {
        func tree(depth: Int) -> Tree {
            var tree = Tree()
            if depth > 0 {
                tree.children = [Self.Tree()]
                tree.children[0] = makeTree(depth - 1)
            }
            return tree
        }
        func makeTree(_ depth: Int) -> Tree { tree(depth: depth) }
        #expect(try Tree(bytes: tree(depth: 10).encodedBytes()) == tree(depth: 10))
        #expect(Self.code { _ = try Tree(bytes: tree(depth: 40).encodedBytes()) } == .invalidValue)
    }

    @Test func randomBytesNeverCrashAnyDecoder() {
        var random = SystemRandomNumberGenerator()
        let decoders: [(ByteBuffer) throws -> Void] = [
            { _ = try Hello(payload: $0) }, { _ = try Welcome(payload: $0) }, { _ = try Heartbeat(payload: $0) },
            { _ = try NodeCommand(payload: $0) }, { _ = try InstanceEvent(payload: $0) },
            { _ = try RPCRequest(payload: $0) },
            { _ = try RPCResponse(payload: $0) }, { _ = try InstanceList(payload: $0) },
            { _ = try NodeList(payload: $0) },
            { _ = try EnrollRequest(payload: $0) }, { _ = try ErrorFrame(payload: $0) },
        ]
        for _ in 0..<3000 {
            let length = Int.random(in: 0..<64, using: &random)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            for decode in decoders {
                do { try decode(Self.payload(bytes)) } catch is WireError {} catch {
                    Issue.record("non-wire error \(error)")
                }
            }
        }
    }

    @Test func optionalZeroIsDistinctFromAbsent() throws {
        var request = StartInstancesRequest()
        request.templateID = "t"
        request.priority = 0
        let decoded = try StartInstancesRequest(bytes: request.encodedBytes())
        #expect(decoded.priority == 0)
        #expect(decoded.version == nil)
    }

    @Test func largeNestedValuesRoundTrip() throws {
        // Over 128 bytes nested forces the multi-byte length path.
        var record = InstanceRecord()
        record.instanceID = String(repeating: "x", count: 300)
        record.vmInfo = GoldenSamples.vmInfo
        let list = InstanceList(instances: [record, record])
        #expect(try InstanceList(bytes: list.encodedBytes()) == list)
    }

    @Test func negativeAndExtremeIntegersRoundTrip() throws {
        var record = InstanceRecord()
        record.version = -5
        record.tsMicros = Int.max
        record.createdMicros = Int.min
        #expect(try InstanceRecord(bytes: record.encodedBytes()) == record)
    }

    @Test func versionNegotiationPicksTheHighestCommonVersion() {
        #expect(ProtocolVersion.negotiate(clientMin: 1, clientMax: 5, serverMin: 1, serverMax: 3) == 3)
        #expect(ProtocolVersion.negotiate(clientMin: 2, clientMax: 2, serverMin: 1, serverMax: 3) == 2)
        #expect(ProtocolVersion.negotiate(clientMin: 4, clientMax: 6, serverMin: 1, serverMax: 3) == nil)
        #expect(ProtocolVersion.negotiate(clientMin: 0, clientMax: 0) == nil)
    }
}

/// Ids come from the system CSPRNG, in the UUID shape Anka clients expect.
@Suite struct RandomIDTests {
    @Test func idsAreVersion4UUIDsAndDoNotRepeat() {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = RandomID.uuid()
            #expect(id.count == 36)
            #expect(Array(id)[14] == "4")
            #expect("89ab".contains(Array(id)[19]))
            #expect(id == id.lowercased())
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
        #expect(RandomID.bytes(33).count == 33)
        #expect(RandomID.hex(8).count == 8)
    }
}

/// Fields whose default is not the zero value keep a zero or false across the wire (found by
/// FuzzPayloads: a save image asked not to suspend arrived asking to suspend).
@Suite struct NonZeroDefaultTests {
    @Test func falseAndZeroSurviveWhereTheDefaultIsNot() throws {
        var save = SaveImageRequest()
        save.suspend = false
        #expect(try SaveImageRequest(bytes: save.encodedBytes()).suspend == false)
        #expect(try SaveImageRequest(bytes: SaveImageRequest().encodedBytes()).suspend == true)
        var start = StartInstancesRequest()
        start.count = 0
        #expect(try StartInstancesRequest(bytes: start.encodedBytes()).count == 0)
        var query = EventQuery()
        query.limit = 0
        #expect(try EventQuery(bytes: query.encodedBytes()).limit == 0)
        // The node's side of a save (found by FuzzPayloads again, 2026-12-04).
        let spec = SaveImageSpec(requestID: "r", scriptTimeoutSeconds: 0, suspend: false)
        let back = try SaveImageSpec(bytes: spec.encodedBytes())
        #expect(back.suspend == false)
        #expect(back.scriptTimeoutSeconds == 0)
        #expect(try SaveImageSpec(bytes: SaveImageSpec(requestID: "r").encodedBytes()) == SaveImageSpec(requestID: "r"))
    }
}

/// A double that is NaN or infinite is malformed input (found by FuzzPayloads: a heartbeat
/// whose CPU figure was NaN decoded, and NaN is stored by SQLite as NULL).
@Suite struct NonFiniteDoubleTests {
    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func aNonFiniteDoubleIsRefused(value: Double) throws {
        // A hostile peer's bytes: field 2 (cpuUtil), fixed64, the value's bit pattern.
        var bytes: [UInt8] = [0x08, 0x01, 0x11]
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        #expect(throws: WireError.self) { try Heartbeat(bytes: bytes) }
        // Berth itself never sends one: the writer leaves it out.
        var heartbeat = Heartbeat(sequence: 1)
        heartbeat.cpuUtil = value
        #expect(try Heartbeat(bytes: heartbeat.encodedBytes()).cpuUtil == 0)
        heartbeat.cpuUtil = 0.5
        #expect(try Heartbeat(bytes: heartbeat.encodedBytes()).cpuUtil == 0.5)
    }
}

/// A required field sent explicitly as its zero value is refused (found by FuzzPayloads: a
/// command with id 0 decoded, but could never be encoded again).
@Suite struct RequiredZeroFieldTests {
    @Test func aZeroCommandIDOrAnEmptyInstanceIDIsRefused() {
        // Field 1 (commandID) = 0, field 2 (kind) = 5 (update agent, node-wide).
        #expect(throws: WireError.self) { try NodeCommand(bytes: [0x08, 0x00, 0x10, 0x05]) }
        #expect((try? NodeCommand(bytes: [0x08, 0x07, 0x10, 0x05]))?.commandID == 7)
        // A stop (kind 2) for instance "": field 3 present but empty.
        #expect(throws: WireError.self) { try NodeCommand(bytes: [0x08, 0x07, 0x10, 0x02, 0x1A, 0x00]) }
        // An instance status whose id is "".
        #expect(throws: WireError.self) { try InstanceStatus(bytes: [0x0A, 0x00, 0x10, 0x03]) }
    }
}
