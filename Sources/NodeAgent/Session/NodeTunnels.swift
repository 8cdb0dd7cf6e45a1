import Logging
import NIOCore
import NIOPosix
import Synchronization
import WireProtocol

/// The node's ends of VM access tunnels: per tunnel, a TCP connection to an instance's port,
/// bridged to tunnel frames on the control-plane connection (``TunnelBridgeHandler``).
///
/// Tunnels live and die with the connection they were opened on, and with their instance:
/// stopping or terminating it ends its tunnels.
final class NodeTunnels: Sendable {
    private struct Entry {
        var instanceID: String
        /// `nil` while the connection to the instance is being made.
        var channel: (any Channel)?
        /// The control plane closed the tunnel while it was being opened.
        var cancelled = false
    }

    private let entries = Mutex<[UInt32: Entry]>([:])
    let group: any EventLoopGroup
    let logger: Logger

    init(group: any EventLoopGroup, logger: Logger) {
        self.group = group
        self.logger = logger
    }

    /// Connects to the instance's port and answers the control plane: open, with this end's
    /// window, or refused with the reason.
    func open(
        _ request: TunnelOpen,
        streamID: UInt32,
        control: any Channel,
        endpoint: @escaping @Sendable () async throws -> (host: String, port: Int)
    ) {
        let fresh = entries.withLock { entries in
            guard entries[streamID] == nil else { return false }
            entries[streamID] = Entry(instanceID: request.instanceID)
            return true
        }
        guard fresh else {
            send(TunnelReply(refused: "tunnel \(streamID) is already open", status: 409), streamID, control)
            return
        }
        Task {
            do {
                let target = try await endpoint()
                let channel = try await ClientBootstrap(group: control.eventLoop)
                    .connectTimeout(.seconds(5))
                    .channelOption(.autoRead, value: false)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                TunnelBridgeHandler(
                                    streamID: streamID,
                                    credit: min(max(request.window, 0), TunnelLimits.window * 4),
                                    control: control,
                                    closed: { [weak self] in self?.forget(streamID) }
                                )
                            )
                        }
                    }
                    .connect(host: target.host, port: target.port).get()
                let cancelled = entries.withLock { entries -> Bool in
                    guard let entry = entries[streamID], !entry.cancelled else { return true }
                    entries[streamID]?.channel = channel
                    return false
                }
                guard !cancelled else {
                    channel.close(promise: nil)
                    forget(streamID)
                    return
                }
                logger.info(
                    "tunnel opened",
                    metadata: ["instance": "\(request.instanceID)", "port": "\(request.port)", "user": "\(request.user)"]
                )
                send(TunnelReply(window: TunnelLimits.window), streamID, control)
                channel.pipeline.triggerUserOutboundEvent(TunnelBridgeHandler.Start(), promise: nil)
            } catch {
                forget(streamID)
                let reason =
                    (error as? DriverError)?.message
                    ?? "port \(request.port) of instance \(request.instanceID) refused the connection (\(error))"
                send(TunnelReply(refused: reason, status: error is DriverError ? 409 : 502), streamID, control)
            }
        }
    }

    /// A data, credit or close frame from the control plane.
    func received(_ frame: Frame) {
        switch frame.type {
        case .tunnelData:
            channel(frame.streamID)?.writeAndFlush(frame.payload, promise: nil)
        case .tunnelWindow:
            guard let increment = try? TunnelWindow(payload: frame.payload).increment, increment > 0 else { return }
            channel(frame.streamID)?.pipeline.triggerUserOutboundEvent(
                TunnelBridgeHandler.Grant(bytes: increment),
                promise: nil
            )
        case .tunnelClose:
            let channel = entries.withLock { entries -> (any Channel)? in
                guard let entry = entries[frame.streamID] else { return nil }
                if entry.channel == nil { entries[frame.streamID]?.cancelled = true }
                return entry.channel
            }
            channel?.pipeline.triggerUserOutboundEvent(TunnelBridgeHandler.CloseQuietly(), promise: nil)
        default:
            break
        }
    }

    /// Ends the tunnels of an instance that stopped or ended.
    func close(instanceID: String) {
        let channels = entries.withLock { entries in
            entries.values.filter { $0.instanceID == instanceID }.compactMap(\.channel)
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Ends every tunnel (the control-plane connection is gone; nobody is at the other end).
    func closeAll() {
        let channels = entries.withLock { entries in
            for key in entries.keys { entries[key]?.cancelled = true }
            return entries.values.compactMap(\.channel)
        }
        for channel in channels { channel.pipeline.triggerUserOutboundEvent(TunnelBridgeHandler.CloseQuietly(), promise: nil) }
    }

    /// Tunnels open now.
    var count: Int { entries.withLock { $0.count } }

    private func channel(_ streamID: UInt32) -> (any Channel)? {
        entries.withLock { $0[streamID]?.channel }
    }

    private func forget(_ streamID: UInt32) {
        _ = entries.withLock { $0.removeValue(forKey: streamID) }
    }

    private func send<M: WireMessage>(_ message: M, _ streamID: UInt32, _ control: any Channel) {
        control.writeAndFlush(message.frame(streamID: streamID, allocator: control.allocator), promise: nil)
    }
}
