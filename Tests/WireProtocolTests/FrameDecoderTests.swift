import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
import WireProtocol

@Suite struct FrameDecoderTests {
    static func bytes(of frames: [Frame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { frame.write(into: &buffer) }
        return buffer
    }

    @Test func dripFedAndWholeInputDecodeTheSameFrames() throws {
        // The verifier feeds the bytes whole, then one byte at a time, and in other splits.
        let pairs = GoldenSamples.frames.map { (Self.bytes(of: [$0.frame]), [$0.frame]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder() }
    }

    @Test func manyFramesInOneBufferDripFedOneByteAtATime() throws {
        let frames = GoldenSamples.frames.map(\.frame)
        var input = Self.bytes(of: frames)
        var decoder = FrameDecoder()
        var staging = ByteBuffer()
        var decoded: [Frame] = []
        while let byte = input.readInteger(as: UInt8.self) {
            staging.writeInteger(byte)
            while let frame = try decoder.decode(buffer: &staging) { decoded.append(frame) }
            staging.discardReadBytes()
        }
        #expect(decoded == frames)
    }

    @Test func tooLargeLengthIsRefusedFromTheHeaderAlone() throws {
        var decoder = FrameDecoder(maxPayloadSize: 1024)
        var header = ByteBuffer()
        header.writeInteger(UInt32(1025))
        header.writeInteger(MessageType.hello.rawValue)
        header.writeInteger(UInt16(0))
        header.writeInteger(UInt32(0))
        // Only the 12 header bytes are present: no payload was buffered, yet it is refused.
        #expect(throws: WireError.self) { try decoder.decode(buffer: &header) }
        do {
            _ = try decoder.decode(buffer: &header)
        } catch let error as WireError {
            #expect(error.code == .frameTooLarge)
        }
    }

    @Test func hugeLengthInAChannelClosesWithATypedError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxPayloadSize: 1 << 20)))
        var header = ByteBuffer()
        header.writeInteger(UInt32.max)
        header.writeInteger(UInt16(1))
        header.writeInteger(UInt16(0))
        header.writeInteger(UInt32(0))
        #expect(throws: WireError(.frameTooLarge, "frame payload of 4294967295 bytes exceeds the limit of 1048576")) {
            try channel.writeInbound(header)
        }
        _ = try? channel.finish()
    }

    @Test func endOfStreamInsideAFrameIsTruncated() throws {
        var decoder = FrameDecoder()
        var buffer = Self.bytes(of: [Ping(nonce: 1).frame()])
        buffer.moveWriterIndex(to: buffer.writerIndex - 1)
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(throws: WireError.self) { try decoder.decodeLast(buffer: &buffer, seenEOF: true) }
    }

    @Test func partialHeaderWaitsForMoreBytes() throws {
        var decoder = FrameDecoder()
        var buffer = ByteBuffer(bytes: [0, 0, 0, 2, 0])
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 5)
    }
}
