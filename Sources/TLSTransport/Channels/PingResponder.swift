import NIOCore
import WireProtocol

/// Answers the peer's pings on the connection's event loop, once the session has started.
///
/// Liveness asks whether the connection and the peer's process are alive, not whether its
/// tasks are keeping up: a pong that waited for a busy actor or a full task pool made a
/// loaded but healthy peer look dead (gateways on a loaded machine dropped their
/// connection while every RPC was still being answered). So, like HTTP/2's PING, the pong
/// comes from the pipeline. Dormant until ``StartLivenessEvent`` (the server's welcome
/// is always the first frame, and an unauthenticated peer is never answered); from
/// ``StopLivenessEvent`` on, after a last error frame, it is silent again. While dormant,
/// pings pass through to the session, which handles them as before.
public final class PingResponder: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = Frame
    public typealias InboundOut = Frame
    public typealias OutboundIn = Frame
    public typealias OutboundOut = Frame

    private var active = false

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard active, frame.type == .ping else {
            context.fireChannelRead(data)
            return
        }
        do {
            let nonce = try Ping(payload: frame.payload).nonce
            context.writeAndFlush(wrapOutboundOut(Pong(nonce: nonce).frame(allocator: context.channel.allocator)), promise: nil)
        } catch {
            // A malformed ping is the session's to refuse, as any malformed frame.
            context.fireChannelRead(data)
        }
    }

    public func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is StartLivenessEvent { active = true }
        if event is StopLivenessEvent { active = false }
        context.triggerUserOutboundEvent(event, promise: promise)
    }
}

@available(*, unavailable)
extension PingResponder: Sendable {}
