import NIOCore

/// Splits a byte stream into ``Frame``s.
///
/// The payload length is read from the header and checked against `maxPayloadSize`
/// before a single payload byte is buffered, so a hostile length can never make the
/// receiver allocate. A too-large length throws ``WireError/Code/frameTooLarge``.
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder, ByteToMessageDecoder {
    public typealias InboundOut = Frame

    public let maxPayloadSize: Int

    public init(maxPayloadSize: Int = Frame.defaultMaxPayloadSize) {
        self.maxPayloadSize = maxPayloadSize
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> Frame? {
        guard buffer.readableBytes >= Frame.headerSize,
            let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self)
        else { return nil }
        guard Int(length) <= maxPayloadSize else {
            throw WireError(.frameTooLarge, "frame payload of \(length) bytes exceeds the limit of \(maxPayloadSize)")
        }
        guard buffer.readableBytes >= Frame.headerSize + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        let type = buffer.readInteger(as: UInt16.self)!
        let flags = buffer.readInteger(as: UInt16.self)!
        let streamID = buffer.readInteger(as: UInt32.self)!
        let payload = buffer.readSlice(length: Int(length))!
        return Frame(type: MessageType(rawValue: type), flags: flags, streamID: streamID, payload: payload)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Frame? {
        if let frame = try decode(buffer: &buffer) { return frame }
        if buffer.readableBytes > 0 {
            throw WireError(.truncated, "connection closed inside a frame (\(buffer.readableBytes) bytes left)")
        }
        return nil
    }

    // ByteToMessageDecoder conformance, so the decoder can sit in a channel pipeline.
    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try decode(buffer: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        if let frame = try decodeLast(buffer: &buffer, seenEOF: seenEOF) {
            context.fireChannelRead(Self.wrapInboundOut(frame))
            return .continue
        }
        return .needMoreData
    }
}
