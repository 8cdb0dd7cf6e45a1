import NIOCore
import NIOSSL
import WireProtocol

/// The last handler of an accepted connection: it serves the connection's frames.
///
/// Frames that need no suspension on an idle session (a node's heartbeats, pings and pongs,
/// most of what a fleet sends, and tunnel frames either way) are handled here on the event
/// loop. Everything else goes
/// through the connection's ``ConnectionMailbox`` to a drain task that exists only while
/// there is work, so a waiting session holds no task and no async frames.
final class PeerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = Frame
    typealias OutboundOut = Frame

    private let service: ConnectionService
    private let connectionID: UInt64
    private let mailbox = ConnectionMailbox()

    init(service: ConnectionService, connectionID: UInt64) {
        self.service = service
        self.connectionID = connectionID
    }

    func handlerAdded(context: ChannelHandlerContext) {
        service.connections.opened(context.channel, id: connectionID)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if let session = mailbox.idleSession(), service.handleInline(frame, from: session) { return }
        post(.frame(frame), channel: context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure: ConnectionFailure
        switch error {
        case let error as WireError: failure = .wire(error)
        case let error as NIOSSLError: failure = .handshake("\(error)")
        case let error as BoringSSLError: failure = .tls("\(error)")
        default: failure = .other("\(error)")
        }
        post(.failure(failure), channel: context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        service.connections.closed(id: connectionID)
        post(.closed, channel: context.channel)
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        // A peer that sends faster than its work is handled waits in its socket buffer
        // (and TCP's window), not in this process.
        guard !mailbox.shouldHoldRead() else { return }
        context.read()
    }

    private func post(_ work: ConnectionMailbox.Work, channel: any Channel) {
        guard mailbox.post(work) else { return }
        let service = self.service
        let mailbox = self.mailbox
        let connectionID = self.connectionID
        Task { await service.drain(mailbox, channel: channel, connectionID: connectionID) }
    }
}

@available(*, unavailable)
extension PeerConnectionHandler: Sendable {}
