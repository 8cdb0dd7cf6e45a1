import NIOCore
import Testing
import WireProtocol

/// Golden byte vectors: the exact frames of one sample of every message type.
///
/// Another implementation of the protocol can be checked against these bytes. A change
/// here is a wire-format change and needs a protocol version bump (docs/PROTOCOL.md).
@Suite struct GoldenVectorTests {
    static let golden: [String: String] = [
        "hello":
            "000000490001000000000000080110011a066576656e74732203612f312a026e3132190810108080021a0561726d3634220831302e302e302e3528043a0d0a027431120276311a036d616342060a02693110034807",
        "welcome": "000000130002000000000000080112066576656e747318882722026e312802",
        "error": "000000060003000000000000080812026e6f",
        "ping": "0000000200040000000000000809",
        "pong": "0000000200050000000000000809",
        "heartbeat":
            "0000016a0101000000000000082a11000000000000e03f19000000000000d03f2080808080082a280a2430653536323633352d313966382d343535372d626262382d31336661323834646430303010032a280a2430653536323633352d313966382d343535372d626262382d31336661323834646430303110032a280a2430653536323633352d313966382d343535372d626262382d31336661323834646430303210032a280a2430653536323633352d313966382d343535372d626262382d31336661323834646430303310032a280a2430653536323633352d313966382d343535372d626262382d31336661323834646430303410032a280a2430653536323633352d313966382d343535372d626262382d31336661323834646430303510032a280a2430653536323633352d313966382d343535372d626262382d31336661323834646430303610032a280a2430653536323633352d313966382d343535372d626262382d3133666132383464643030371003",
        "heartbeatAck": "000000040102000000000000082a1006",
        "nodeCommand":
            "0000002a010300000000000008ac0210011a026931221f0a02743112036d61631a027631200228043080203a02766d420561726d3634",
        "commandAck": "00000005010400000000000008ac021001",
        "instanceEvent":
            "0000006c0105000000000000084d10031a5d0a026931100319000000000000f03f2a4c0a0275311202766d1a0772756e6e696e672004288040320831302e302e302e353a0c3139322e3136382e36342e32409a5c4a10082c10a29c011a037463702203737368588080f28183898506208080f28183898506",
        "eventAck": "000000040106000000000000084d1003",
        "enrollRequest":
            "0000002402010000000000000a176162636465662e30313233343536373839616263646566120530030201001a026e31",
        "enrollResponse": "0000000d02020000000000000a026e31120230001a03300100",
        "rpcRequest": "000000160301000000000005080b120808021204726f6f741a040a02693122027231",
        "rpcResponse":
            "0000002403020000000000051a220a200a02693110012202743132027631500a58089801d00faa01076e6f206e6f6465",
        "tunnelOpen": "0000001404010000000000070a026931102c18808020220808021204726f6f74",
        "tunnelReply": "00000004040200000000000708808020",
        "tunnelData": "0000000704030000000000075353482d322e30",
        "tunnelWindow": "000000020404000000000007080e",
        "tunnelClose": "0000000604050000000000070a04646f6e65",
    ]

    static func hex(_ frame: Frame) -> String {
        var buffer = ByteBuffer()
        frame.write(into: &buffer)
        return buffer.readableBytesView.map { hexByte($0) }.joined()
    }

    static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    static func bytes(_ hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    @Test func everyMessageTypeHasAVector() {
        let names = Set(GoldenSamples.frames.map(\.name))
        #expect(names == Set(Self.golden.keys))
        #expect(names.count == 20)
    }

    @Test(arguments: GoldenSamples.frames.map(\.name))
    func encodesToGoldenBytes(name: String) throws {
        let frame = try #require(GoldenSamples.frames.first { $0.name == name }?.frame)
        #expect(Self.hex(frame) == Self.golden[name])
    }

    @Test(arguments: GoldenSamples.frames.map(\.name))
    func goldenBytesDecodeToTheSample(name: String) throws {
        let expected = try #require(GoldenSamples.frames.first { $0.name == name }?.frame)
        var buffer = ByteBuffer(bytes: Self.bytes(try #require(Self.golden[name])))
        var decoder = FrameDecoder()
        let frame = try #require(try decoder.decode(buffer: &buffer))
        #expect(buffer.readableBytes == 0)
        #expect(frame == expected)
        try Self.assertRoundTrip(frame)
    }

    /// Decodes the payload as its message type and checks it equals the sample.
    static func assertRoundTrip(_ frame: Frame) throws {
        switch frame.type {
        case .hello: #expect(try Hello(payload: frame.payload) == GoldenSamples.hello)
        case .welcome: #expect(try Welcome(payload: frame.payload).heartbeatIntervalMillis == 5000)
        case .error: #expect(try ErrorFrame(payload: frame.payload).wireError.code == .unsupportedVersion)
        case .ping: #expect(try Ping(payload: frame.payload).nonce == 9)
        case .pong: #expect(try Pong(payload: frame.payload).nonce == 9)
        case .heartbeat: #expect(try Heartbeat(payload: frame.payload) == GoldenSamples.heartbeat)
        case .heartbeatAck: #expect(try HeartbeatAck(payload: frame.payload).sequence == 42)
        case .nodeCommand: #expect(try NodeCommand(payload: frame.payload).start == GoldenSamples.startSpec)
        case .commandAck: #expect(try CommandAck(payload: frame.payload) == CommandAck(commandID: 300))
        case .instanceEvent: #expect(try InstanceEvent(payload: frame.payload).status.vmInfo == GoldenSamples.vmInfo)
        case .eventAck: #expect(try EventAck(payload: frame.payload) == EventAck(epoch: 77, sequence: 3))
        case .enrollRequest:
            #expect(try EnrollRequest(payload: frame.payload).csrDER == [0x30, 0x03, 0x02, 0x01, 0x00])
        case .enrollResponse:
            #expect(try EnrollResponse(payload: frame.payload).caCertificateDER == [0x30, 0x01, 0x00])
        case .rpcRequest:
            let request = try RPCRequest(payload: frame.payload)
            #expect(request.method == RPCCatalog.listInstances.method)
            #expect(request.principal == Principal(kind: .root, name: "root"))
            #expect(try IDQuery(bytes: request.body).id == "i1")
            #expect(request.requestID == "r1")
        case .rpcResponse:
            let response = try RPCResponse(payload: frame.payload)
            #expect(try InstanceList(bytes: response.body).instances == [GoldenSamples.instanceRecord])
        case .tunnelOpen:
            #expect(
                try TunnelOpen(payload: frame.payload)
                    == TunnelOpen(instanceID: "i1", port: 22, window: 262_144, principal: Principal(kind: .root, name: "root"))
            )
        case .tunnelReply: #expect(try TunnelReply(payload: frame.payload) == TunnelReply(window: 262_144))
        case .tunnelData: #expect(String(buffer: frame.payload) == "SSH-2.0")
        case .tunnelWindow: #expect(try TunnelWindow(payload: frame.payload) == TunnelWindow(increment: 7))
        case .tunnelClose: #expect(try TunnelClose(payload: frame.payload) == TunnelClose(reason: "done"))
        default:
            Issue.record("no round-trip check for \(frame.type)")
        }
    }
}
