import NIOCore

/// Writes ``Frame``s onto the byte stream (header, then payload).
///
/// A frame encoded by ``WireMessage/frame(streamID:allocator:)`` already holds its header
/// in front of its payload, so it is passed on as it is; any other frame is copied once.
public final class FrameEncoder: ChannelOutboundHandler, Sendable {
    public typealias OutboundIn = Frame
    public typealias OutboundOut = ByteBuffer

    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        context.write(wrapOutboundOut(frame.wireBytes(allocator: context.channel.allocator)), promise: promise)
    }
}
