import NIOCore
import WireProtocol

/// Serves a connection to a replica that does not lead: the peer's first frame is answered
/// with the leader's address, and the connection is closed.
///
/// A hello that lists ``Redirect/capability`` gets a ``Redirect``; any other first frame (an
/// older agent's hello, an enrollment) gets an ``ErrorFrame`` naming the leader in words.
final class FollowerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    /// The leader's address and epoch as last read from the lease (empty while none leads).
    private let leader: @Sendable () -> Redirect
    private var answered = false

    init(leader: @escaping @Sendable () -> Redirect) {
        self.leader = leader
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        answered = true
        let frame = unwrapInboundIn(data)
        let redirect = leader()
        let answer: Frame
        if frame.type == .hello, let hello = try? Hello(payload: frame.payload),
            hello.capabilities.contains(Redirect.capability)
        {
            answer = redirect.frame(allocator: context.channel.allocator)
        } else {
            let words =
                redirect.leader.isEmpty
                ? "this control plane does not lead, and no replica leads yet; try again shortly"
                : "this control plane does not lead; the leader is at \(redirect.leader)"
            answer = ErrorFrame(WireError(.goingAway, words)).frame(allocator: context.channel.allocator)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(answer)).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension FollowerConnectionHandler: Sendable {}
