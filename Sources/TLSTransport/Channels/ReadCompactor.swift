import NIOCore

/// Hands a small read on in a buffer of its own size, so the TLS handler's read buffer is
/// not kept alive by the frame decoder.
///
/// NIOSSL decrypts into one 32 KiB buffer per connection and passes a view of it on. The
/// frame decoder keeps what it was given until a frame is complete, so on the next read
/// NIOSSL's buffer was shared and it copied it into a second 32 KiB buffer: two per idle
/// session, most of a session's heap (see docs/performance.md, "where a session's memory
/// goes"). Copying reads of at most ``threshold`` bytes (pings, heartbeats, RPCs) costs a
/// small copy and leaves NIOSSL's buffer unshared; a larger read (template content) is
/// passed on as it came.
final class ReadCompactor: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Reads up to this many bytes are copied.
    static let threshold = 4096

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard buffer.readableBytes <= Self.threshold else {
            context.fireChannelRead(data)
            return
        }
        var copy = context.channel.allocator.buffer(capacity: buffer.readableBytes)
        copy.writeImmutableBuffer(buffer)
        context.fireChannelRead(wrapInboundOut(copy))
    }
}
