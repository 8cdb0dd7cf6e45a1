import NIOCore
import NIOPosix

/// A TCP relay on loopback between clients and one server that can be cut and healed.
///
/// Cut, it behaves like a network partition: nothing is closed, bytes stop in both
/// directions and are delivered after the heal (as TCP retransmits them), and a new
/// connection reaches the server only after the heal. It runs on one event loop of its
/// own, so its state needs no locks.
public final class PartitionRelay: Sendable {
    public let port: Int
    private let loop: any EventLoop
    private let listener: any Channel
    private let state: NIOLoopBound<RelayState>

    private init(port: Int, loop: any EventLoop, listener: any Channel, state: NIOLoopBound<RelayState>) {
        self.port = port
        self.loop = loop
        self.listener = listener
        self.state = state
    }

    /// Listens on a free loopback port and relays every connection to `targetPort`.
    public static func start(to targetPort: Int) async throws -> PartitionRelay {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let state = try await loop.submit { NIOLoopBound(RelayState(loop: loop, targetPort: targetPort), eventLoop: loop) }
            .get()
        let listener = try await ServerBootstrap(group: loop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = RelayHandler(state: state.value)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    state.value.accepted(channel, handler: handler)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return PartitionRelay(port: listener.localAddress!.port!, loop: loop, listener: listener, state: state)
    }

    /// Starts a partition.
    public func cut() async {
        let state = self.state
        try? await loop.submit { state.value.partitioned = true }.get()
    }

    /// Ends the partition: held bytes flow and waiting connections reach the server.
    public func heal() async {
        let state = self.state
        try? await loop.submit { state.value.heal() }.get()
    }

    /// Closes every relayed connection once `bytes` more have come from the server (once):
    /// a connection that drops in the middle of a transfer, at a point the test chooses.
    public func dropConnections(afterDownstreamBytes bytes: Int) async {
        let state = self.state
        try? await loop.submit { state.value.dropAfter = state.value.downstreamBytes + bytes }.get()
    }

    /// Connections accepted so far.
    public func connectionCount() async -> Int {
        let state = self.state
        return (try? await loop.submit { state.value.acceptedCount }.get()) ?? 0
    }

    public func stop() async {
        try? await listener.close()
        let state = self.state
        try? await loop.submit { state.value.closeAll() }.get()
    }
}

/// The relay's state, confined to its event loop.
final class RelayState {
    let loop: any EventLoop
    let targetPort: Int
    var partitioned = false
    var acceptedCount = 0
    /// Bytes relayed from the server so far, and the count at which to drop everything.
    var downstreamBytes = 0
    var dropAfter: Int?
    var handlers: [RelayHandler] = []
    /// Clients accepted during a partition, connected to the server at the heal.
    var waiting: [(any Channel, RelayHandler)] = []

    init(loop: any EventLoop, targetPort: Int) {
        self.loop = loop
        self.targetPort = targetPort
    }

    func accepted(_ client: any Channel, handler: RelayHandler) {
        acceptedCount += 1
        handlers.append(handler)
        if partitioned { waiting.append((client, handler)) } else { connect(client, handler) }
    }

    func connect(_ client: any Channel, _ clientHandler: RelayHandler) {
        let upstreamHandler = RelayHandler(state: self, fromServer: true)
        handlers.append(upstreamHandler)
        upstreamHandler.partner = client
        let bound = NIOLoopBound((clientHandler, upstreamHandler), eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(bound.value.1)
                }
            }
            .connect(host: "127.0.0.1", port: targetPort)
            .whenComplete { result in
                switch result {
                case .success(let upstream):
                    bound.value.0.partner = upstream
                    bound.value.0.release()
                case .failure:
                    client.close(promise: nil)
                }
            }
    }

    func heal() {
        partitioned = false
        let waiting = self.waiting
        self.waiting = []
        for (client, handler) in waiting { connect(client, handler) }
        for handler in handlers { handler.release() }
    }

    func closeAll() {
        for handler in handlers { handler.partner?.close(promise: nil) }
        handlers = []
    }
}

/// One direction's reader: forwards what it reads to its partner, or holds it while cut.
final class RelayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    unowned let state: RelayState
    let fromServer: Bool
    var partner: (any Channel)?
    private var held: [ByteBuffer] = []

    init(state: RelayState, fromServer: Bool = false) {
        self.state = state
        self.fromServer = fromServer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if fromServer {
            state.downstreamBytes += bytes.readableBytes
            if let limit = state.dropAfter, state.downstreamBytes >= limit {
                state.dropAfter = nil
                state.closeAll()
                return
            }
        }
        if state.partitioned || partner == nil {
            held.append(bytes)
        } else {
            partner?.writeAndFlush(bytes, promise: nil)
        }
    }

    /// Forwards what was held, once there is a partner and no partition.
    func release() {
        guard let partner, !state.partitioned, !held.isEmpty else { return }
        for bytes in held { partner.write(bytes, promise: nil) }
        held = []
        partner.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        partner?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
