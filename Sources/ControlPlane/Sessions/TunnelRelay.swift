import Foundation
import Logging
import NIOCore
import Synchronization
import WireProtocol

/// Relays VM access tunnels between gateways and nodes: TCP streams to an instance's port,
/// multiplexed on the connections both already hold (see `docs/PROTOCOL.md`, "VM access
/// tunnels").
///
/// A gateway opens a tunnel under a stream id of its choosing; the relay authorizes the
/// caller (`connect_vm`, or an access token for that one instance), finds the instance's
/// node, and opens a tunnel there under a stream id of its own. From then on it forwards
/// data, credit and close frames between the two, and keeps each direction within the
/// credit the receiving end granted: a peer that sends past it loses the tunnel, so what
/// waits here for one tunnel is bounded by its window. Caps bound the tunnels per node and
/// per instance. Each tunnel is recorded in the event log when it ends: who, which
/// instance and port, the bytes each way and how long.
final class TunnelRelay: Sendable {
    struct Limits: Sendable {
        var perNode = 64
        var perInstance = 16
        var perGateway = 1024
    }

    /// One end of a tunnel: a connection and the tunnel's stream id on it.
    struct End: Hashable, Sendable {
        var connectionID: UInt64
        var streamID: UInt32
    }

    struct Tunnel {
        let gateway: PeerSession
        let gatewayStream: UInt32
        let node: PeerSession
        let nodeStream: UInt32
        let nodeID: String
        let instanceID: String
        let port: Int
        let user: String
        let opened: ContinuousClock.Instant
        /// Bytes the node may still send towards the gateway (the gateway's credit).
        var nodeMaySend: Int
        /// Bytes the gateway may still send towards the node; 0 until the node answers.
        var gatewayMaySend = 0
        var toNode = 0
        var toGateway = 0
    }

    private struct State {
        var tunnels: [UInt64: Tunnel] = [:]
        var byGateway: [End: UInt64] = [:]
        var byNode: [End: UInt64] = [:]
        var perNode: [String: Int] = [:]
        var perInstance: [String: Int] = [:]
        var perGateway: [UInt64: Int] = [:]
        var nextID: UInt64 = 1
        var nextNodeStream: UInt32 = 1
    }

    private let state = Mutex(State())
    let limits: Limits
    let eventLog: EventLog
    let events: FleetEventHub
    let logger: Logger

    init(limits: Limits = Limits(), eventLog: EventLog, events: FleetEventHub, logger: Logger) {
        self.limits = limits
        self.eventLog = eventLog
        self.events = events
        self.logger = logger
    }

    /// Tunnels open now (tests and metrics).
    var count: Int { state.withLock { $0.tunnels.count } }

    // MARK: from the gateway

    /// Opens a tunnel for a gateway, once the caller is authorized and the instance's node
    /// is found (`target`); refusals are answered on the gateway's stream.
    func open(
        _ request: TunnelOpen,
        streamID: UInt32,
        from gateway: PeerSession,
        user: String,
        target: Result<(nodeID: String, session: PeerSession), TunnelRefusal>
    ) {
        let node: (nodeID: String, session: PeerSession)
        switch target {
        case .failure(let refusal):
            gateway.send(TunnelReply(refused: refusal.message, status: refusal.status), streamID: streamID)
            return
        case .success(let found):
            node = found
        }
        let window = min(max(request.window, 0), TunnelLimits.window * 4)
        let opened: UInt32? = state.withLock { state in
            let gatewayEnd = End(connectionID: gateway.connectionID, streamID: streamID)
            guard state.byGateway[gatewayEnd] == nil,
                state.perNode[node.nodeID, default: 0] < limits.perNode,
                state.perInstance[request.instanceID, default: 0] < limits.perInstance,
                state.perGateway[gateway.connectionID, default: 0] < limits.perGateway
            else { return nil }
            let id = state.nextID
            state.nextID += 1
            let nodeStream = state.nextNodeStream
            state.nextNodeStream = nodeStream == UInt32.max ? 1 : nodeStream + 1
            state.tunnels[id] = Tunnel(
                gateway: gateway,
                gatewayStream: streamID,
                node: node.session,
                nodeStream: nodeStream,
                nodeID: node.nodeID,
                instanceID: request.instanceID,
                port: request.port,
                user: user,
                opened: .now,
                nodeMaySend: window
            )
            state.byGateway[gatewayEnd] = id
            state.byNode[End(connectionID: node.session.connectionID, streamID: nodeStream)] = id
            state.perNode[node.nodeID, default: 0] += 1
            state.perInstance[request.instanceID, default: 0] += 1
            state.perGateway[gateway.connectionID, default: 0] += 1
            return nodeStream
        }
        guard let nodeStream = opened else {
            gateway.send(
                TunnelReply(
                    refused: "too many tunnels to instance \(request.instanceID) or its node; close one and retry",
                    status: 429
                ),
                streamID: streamID
            )
            return
        }
        node.session.send(
            TunnelOpen(instanceID: request.instanceID, port: request.port, window: window, user: user),
            streamID: nodeStream
        )
    }

    /// A frame a gateway sent on an open tunnel. Data past the gateway's credit closes the
    /// tunnel at both ends.
    func fromGateway(_ frame: Frame, session: PeerSession) {
        let end = End(connectionID: session.connectionID, streamID: frame.streamID)
        switch frame.type {
        case .tunnelData:
            let bytes = frame.payload.readableBytes
            let forward: (PeerSession, UInt32)? = state.withLock { state in
                guard let id = state.byGateway[end], var tunnel = state.tunnels[id] else { return nil }
                guard bytes <= tunnel.gatewayMaySend else { return nil }
                tunnel.gatewayMaySend -= bytes
                tunnel.toNode += bytes
                state.tunnels[id] = tunnel
                return (tunnel.node, tunnel.nodeStream)
            }
            if let (node, stream) = forward {
                node.channel.writeAndFlush(Frame(type: .tunnelData, streamID: stream, payload: frame.payload), promise: nil)
            } else {
                close(gatewayEnd: end, reason: "data past the tunnel's window", notifyGateway: true)
            }
        case .tunnelWindow:
            guard let increment = try? TunnelWindow(payload: frame.payload).increment, increment > 0 else { return }
            let forward: (PeerSession, UInt32)? = state.withLock { state in
                guard let id = state.byGateway[end], var tunnel = state.tunnels[id] else { return nil }
                tunnel.nodeMaySend = min(tunnel.nodeMaySend + increment, TunnelLimits.window * 4)
                state.tunnels[id] = tunnel
                return (tunnel.node, tunnel.nodeStream)
            }
            if let (node, stream) = forward { node.send(TunnelWindow(increment: increment), streamID: stream) }
        case .tunnelClose:
            close(gatewayEnd: end, reason: (try? TunnelClose(payload: frame.payload).reason) ?? "", notifyGateway: false)
        default:
            break
        }
    }

    // MARK: from the node

    /// A tunnel frame from a node.
    func fromNode(_ frame: Frame, session: PeerSession) {
        let end = End(connectionID: session.connectionID, streamID: frame.streamID)
        switch frame.type {
        case .tunnelReply:
            guard let reply = try? TunnelReply(payload: frame.payload) else { return }
            let gateway: (PeerSession, UInt32)? = state.withLock { state in
                guard let id = state.byNode[end], var tunnel = state.tunnels[id] else { return nil }
                tunnel.gatewayMaySend = min(max(reply.window, 0), TunnelLimits.window * 4)
                state.tunnels[id] = tunnel
                return (tunnel.gateway, tunnel.gatewayStream)
            }
            guard let (gateway, stream) = gateway else { return }
            gateway.send(reply, streamID: stream)
            if !reply.isOpen { close(nodeEnd: end, reason: reply.error, notifyNode: false, notifyGateway: false) }
        case .tunnelData:
            let bytes = frame.payload.readableBytes
            let forward: (PeerSession, UInt32)? = state.withLock { state in
                guard let id = state.byNode[end], var tunnel = state.tunnels[id] else { return nil }
                guard bytes <= tunnel.nodeMaySend else { return nil }
                tunnel.nodeMaySend -= bytes
                tunnel.toGateway += bytes
                state.tunnels[id] = tunnel
                return (tunnel.gateway, tunnel.gatewayStream)
            }
            if let (gateway, stream) = forward {
                gateway.channel.writeAndFlush(
                    Frame(type: .tunnelData, streamID: stream, payload: frame.payload),
                    promise: nil
                )
            } else {
                close(nodeEnd: end, reason: "data past the tunnel's window", notifyNode: true, notifyGateway: true)
            }
        case .tunnelWindow:
            guard let increment = try? TunnelWindow(payload: frame.payload).increment, increment > 0 else { return }
            let forward: (PeerSession, UInt32)? = state.withLock { state in
                guard let id = state.byNode[end], var tunnel = state.tunnels[id] else { return nil }
                tunnel.gatewayMaySend = min(tunnel.gatewayMaySend + increment, TunnelLimits.window * 4)
                state.tunnels[id] = tunnel
                return (tunnel.gateway, tunnel.gatewayStream)
            }
            if let (gateway, stream) = forward { gateway.send(TunnelWindow(increment: increment), streamID: stream) }
        case .tunnelClose:
            let reason = (try? TunnelClose(payload: frame.payload).reason) ?? ""
            close(nodeEnd: end, reason: reason, notifyNode: false, notifyGateway: true)
        default:
            break
        }
    }

    // MARK: closing

    /// Ends every tunnel of a connection that closed (a gateway's or a node's).
    func connectionClosed(_ session: PeerSession) {
        let ids = state.withLock { state in
            state.tunnels.filter {
                $0.value.gateway.connectionID == session.connectionID || $0.value.node.connectionID == session.connectionID
            }.map(\.key)
        }
        let reason = session.identity.role == .node ? "the instance's node disconnected" : "the gateway disconnected"
        for id in ids {
            guard let tunnel = remove(id) else { continue }
            if tunnel.gateway.connectionID != session.connectionID {
                tunnel.gateway.send(TunnelClose(reason: reason), streamID: tunnel.gatewayStream)
            }
            if tunnel.node.connectionID != session.connectionID {
                tunnel.node.send(TunnelClose(reason: reason), streamID: tunnel.nodeStream)
            }
            record(tunnel, reason: reason)
        }
    }

    private func close(gatewayEnd end: End, reason: String, notifyGateway: Bool) {
        guard let id = state.withLock({ $0.byGateway[end] }), let tunnel = remove(id) else { return }
        tunnel.node.send(TunnelClose(reason: reason.isEmpty ? "closed by the client" : reason), streamID: tunnel.nodeStream)
        if notifyGateway { tunnel.gateway.send(TunnelClose(reason: reason), streamID: tunnel.gatewayStream) }
        record(tunnel, reason: reason.isEmpty ? "closed by the client" : reason)
    }

    private func close(nodeEnd end: End, reason: String, notifyNode: Bool, notifyGateway: Bool) {
        guard let id = state.withLock({ $0.byNode[end] }), let tunnel = remove(id) else { return }
        if notifyNode { tunnel.node.send(TunnelClose(reason: reason), streamID: tunnel.nodeStream) }
        if notifyGateway {
            tunnel.gateway.send(
                TunnelClose(reason: reason.isEmpty ? "closed by the instance" : reason),
                streamID: tunnel.gatewayStream
            )
        }
        record(tunnel, reason: reason.isEmpty ? "closed by the instance" : reason)
    }

    private func remove(_ id: UInt64) -> Tunnel? {
        state.withLock { state in
            guard let tunnel = state.tunnels.removeValue(forKey: id) else { return nil }
            state.byGateway.removeValue(forKey: End(connectionID: tunnel.gateway.connectionID, streamID: tunnel.gatewayStream))
            state.byNode.removeValue(forKey: End(connectionID: tunnel.node.connectionID, streamID: tunnel.nodeStream))
            Self.decrement(&state.perNode, tunnel.nodeID)
            Self.decrement(&state.perInstance, tunnel.instanceID)
            Self.decrement(&state.perGateway, tunnel.gateway.connectionID)
            return tunnel
        }
    }

    private static func decrement<Key: Hashable>(_ counts: inout [Key: Int], _ key: Key) {
        let left = counts[key, default: 1] - 1
        counts[key] = left > 0 ? left : nil
    }

    /// The event-log record of a tunnel that ended.
    private func record(_ tunnel: Tunnel, reason: String) {
        let elapsed = (ContinuousClock.now - tunnel.opened).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        let message =
            "port \(tunnel.port) on node \(tunnel.nodeID) by \(tunnel.user): \(tunnel.toNode) bytes in, "
            + "\(tunnel.toGateway) bytes out, \(String(format: "%.1f", seconds)) s (\(reason))"
        logger.info("tunnel closed", metadata: ["instance": "\(tunnel.instanceID)", "detail": "\(message)"])
        let (eventLog, events) = (self.eventLog, self.events)
        let instanceID = tunnel.instanceID
        let user = tunnel.user
        Task {
            await eventLog.record(kind: "tunnel.closed", subject: instanceID, message: message, actor: user)
            events.publish(.tunnelClosed(instanceID: instanceID))
        }
    }
}

/// Why a tunnel could not open, with an HTTP-like status for the gateway's answer.
struct TunnelRefusal: Error, Sendable {
    var message: String
    var status: Int
}
