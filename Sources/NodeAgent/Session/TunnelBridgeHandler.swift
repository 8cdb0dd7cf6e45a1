import NIOCore
import WireProtocol

/// Bridges one tunnel's TCP connection to an instance with its frames on the control-plane
/// connection, within the credit each end grants.
///
/// Bytes the instance sends go out as `tunnelData` frames only while credit lasts; past it,
/// the socket is not read, so a slow reader at the far end stalls this stream alone and what
/// waits here is at most one read. Bytes for the instance are written to it as they come,
/// and each write that completes grants the far end that many bytes again (`tunnelWindow`),
/// so what waits in this socket's buffer is at most the window this end granted.
/// Reading starts on ``Start``, after the open is answered, so no data overtakes the answer.
final class TunnelBridgeHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Begin reading from the instance (the open has been answered).
    struct Start {}
    /// The far end may take `bytes` more.
    struct Grant { var bytes: Int }
    /// The control plane closed the tunnel: close the socket without telling it.
    struct CloseQuietly {}

    private let streamID: UInt32
    private let control: any Channel
    private let closed: @Sendable () -> Void
    private var credit: Int
    private var pending = CircularBuffer<ByteBuffer>()
    private var started = false
    /// A read was asked of the socket and has not completed.
    private var reading = false
    private var quiet = false

    init(streamID: UInt32, credit: Int, control: any Channel, closed: @escaping @Sendable () -> Void) {
        self.streamID = streamID
        self.credit = credit
        self.control = control
        self.closed = closed
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending.append(unwrapInboundIn(data))
        sendPending()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        readIfAllowed(context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes = unwrapOutboundIn(data).readableBytes
        let written = promise ?? context.eventLoop.makePromise()
        let control = self.control
        let streamID = self.streamID
        written.futureResult.whenSuccess {
            control.writeAndFlush(
                TunnelWindow(increment: bytes).frame(streamID: streamID, allocator: control.allocator),
                promise: nil
            )
        }
        context.write(data, promise: written)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        switch event {
        case is Start:
            started = true
            promise?.succeed()
            readIfAllowed(context)
        case let grant as Grant:
            credit += grant.bytes
            promise?.succeed()
            sendPending()
            readIfAllowed(context)
        case is CloseQuietly:
            quiet = true
            promise?.succeed()
            context.close(promise: nil)
        default:
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !quiet {
            control.writeAndFlush(
                TunnelClose(reason: "the instance closed the connection")
                    .frame(streamID: streamID, allocator: control.allocator),
                promise: nil
            )
        }
        closed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Sends what waits, as far as the credit goes, in frames of at most
    /// ``TunnelLimits/maxDataFrame`` bytes.
    private func sendPending() {
        guard started else { return }
        while credit > 0, var first = pending.first {
            let size = min(credit, TunnelLimits.maxDataFrame, first.readableBytes)
            let slice = first.readSlice(length: size)!
            if first.readableBytes == 0 { pending.removeFirst() } else { pending[pending.startIndex] = first }
            credit -= size
            control.writeAndFlush(Frame(type: .tunnelData, streamID: streamID, payload: slice), promise: nil)
        }
    }

    /// Reads from the instance (autoRead is off) while everything read went out and credit
    /// is left.
    private func readIfAllowed(_ context: ChannelHandlerContext) {
        guard started, !reading, pending.isEmpty, credit > 0 else { return }
        reading = true
        context.read()
    }
}

@available(*, unavailable)
extension TunnelBridgeHandler: Sendable {}
