import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOPosix
import TLSTransport
import WireProtocol
import X509

/// A gateway's one mTLS connection to the control plane, multiplexing RPCs by stream id.
///
/// ``run()`` keeps the connection up (reconnecting with jittered backoff, pinging at the
/// server's interval and dropping a silent connection). ``call(_:principal:body:)`` waits
/// briefly for a connection, then fails with `unavailable` rather than hanging.
public actor ControlPlaneClient {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Further control-plane replicas, tried in turn after `host:port` (docs/ha.md). A
        /// follower's redirect to the leader is followed whichever address answered.
        public var otherControlPlanes: [ControlPlaneAddress] = []
        public var identity: TLSIdentity
        public var trustRoot: Certificate
        /// How long a call waits for a connection before failing.
        public var connectWait: Duration = .seconds(5)
        /// How long a call waits for its answer (checked once per heartbeat interval).
        public var callTimeout: Duration = .seconds(30)
        /// Where `gateway.crt` is rewritten when the certificate is renewed over the
        /// connection; `nil` keeps renewals in memory.
        public var certificateDirectory: URL?

        public init(host: String, port: Int, identity: TLSIdentity, trustRoot: Certificate) {
            self.host = host
            self.port = port
            self.identity = identity
            self.trustRoot = trustRoot
        }
    }

    let configuration: Configuration
    let logger: Logger
    let group: any EventLoopGroup
    var channel: (any Channel)?
    var nextStreamID: UInt32 = 1
    /// Calls in flight: their continuation and the deadline the ping loop enforces.
    var pending: [UInt32: (continuation: CheckedContinuation<RPCResponse, any Error>, deadline: NIODeadline)] = [:]
    var connectionWaiters: [UInt64: CheckedContinuation<any Channel, any Error>] = [:]
    var nextWaiterID: UInt64 = 1
    /// Tunnels open on the current connection, and those waiting for their answer.
    var tunnels: [UInt32: GatewayTunnel] = [:]
    var tunnelOpens: [UInt32: (continuation: CheckedContinuation<TunnelReply, any Error>, deadline: NIODeadline)] = [:]
    var nextTunnelID: UInt32 = 1
    /// One gateway is no herd: a short ceiling keeps its callers' 503 window short, also
    /// while replicas fail over (a redial a second after a new leader is elected at most).
    var backoff = Backoff(base: .milliseconds(200), maximum: .seconds(1))
    /// The control planes to dial, and which one is next.
    var addresses: ControlPlaneAddresses
    /// Whether the current attempt reached a welcome; a failure before it moves on.
    var welcomed = false
    /// The identity presented at the next connect: the issued one, then each renewal's.
    public private(set) var identity: TLSIdentity
    /// Renews the certificate at about two thirds of its lifetime.
    let renewer: CertificateRenewer?
    /// Whether the control plane of the current connection renews certificates.
    var renewalCapable = false

    public init(
        configuration: Configuration,
        logger: Logger = Logger(label: "berth.gateway.client"),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.logger = logger
        self.group = group
        self.identity = configuration.identity
        self.addresses = ControlPlaneAddresses(
            [ControlPlaneAddress(host: configuration.host, port: configuration.port)] + configuration.otherControlPlanes
        )
        self.renewer = try? CertificateRenewer(
            identity: configuration.identity,
            trustRoot: configuration.trustRoot,
            directory: configuration.certificateDirectory,
            name: "gateway",
            logger: logger
        )
    }

    /// `true` while a welcomed connection is up.
    public var isConnected: Bool { channel != nil }

    /// Tunnels open on the current connection.
    public var openTunnels: Int { tunnels.count }

    /// Keeps the connection up until the task is cancelled.
    public func run() async {
        let renewing = Task { [renewer] in
            await renewer?.run(send: { [weak self] request in await self?.sendRenewal(request) ?? false }) {
                [weak self] identity in await self?.adopt(identity)
            }
        }
        defer { renewing.cancel() }
        while !Task.isCancelled {
            var redirect: ControlPlaneRedirected?
            welcomed = false
            do {
                try await runConnection()
            } catch is CancellationError {
                break
            } catch let answer as ControlPlaneRedirected {
                logger.info("a follower answered", metadata: ["from": "\(addresses.current)", "leader": "\(answer.leader)"])
                redirect = answer
            } catch let error as TLSTransportError where error.code == .peerSilent {
                logger.warning("control plane stopped answering; reconnecting", metadata: ["error": "\(error)"])
            } catch {
                logger.warning("control plane connection failed", metadata: ["error": "\(error)"])
            }
            disconnected(reason: "control plane connection lost")
            if addresses.attemptEnded(welcomed: welcomed, redirect: redirect) { continue }  // straight to the leader
            do { try await Task.sleep(for: backoff.next()) } catch { break }
        }
        disconnected(reason: "gateway shutting down")
        for (_, waiter) in connectionWaiters { waiter.resume(throwing: CancellationError()) }
        connectionWaiters.removeAll()
    }

    private func runConnection() async throws {
        let target = addresses.current
        let connection = try await ControlPlaneHandshake.connect(
            host: target.host,
            port: target.port,
            identity: identity,
            trustRoot: configuration.trustRoot,
            group: group
        )
        let channel = connection.channel
        try await connection.executeThenClose { inbound, _ in
            var frames = inbound.makeAsyncIterator()
            let welcome = try await ControlPlaneHandshake.greet(channel, frames: &frames, hello: Hello())
            renewalCapable = welcome.capabilities.contains(CertificateRenewal.capability)
            let interval = Duration.milliseconds(Int64(max(10, welcome.heartbeatIntervalMillis)))
            // Liveness on the event loop, as nodes have it: bytes from the control plane count
            // as life when they arrive, pings go out after an interval of silence, and three
            // silent intervals close the connection. A busy process (its tasks queued behind
            // others) can thus never take a live control plane for a dead one.
            try await FramedChannel.startLiveness(
                LivenessOptions(pingInterval: TimeAmount(interval), deadAfter: TimeAmount(interval * 3)),
                on: channel
            )
            connected(channel)
            let expiry = Task { try await self.expiryLoop(interval: interval) }
            defer { expiry.cancel() }
            while let frame = try await frames.next() {
                try received(frame)
            }
        }
    }

    private func connected(_ channel: any Channel) {
        self.channel = channel
        welcomed = true
        backoff.reset()
        logger.info("connected to control plane", metadata: ["address": "\(addresses.current)"])
        for (_, waiter) in connectionWaiters { waiter.resume(returning: channel) }
        connectionWaiters.removeAll()
    }

    private func disconnected(reason: String) {
        channel = nil
        renewalCapable = false
        if let renewer { Task { await renewer.connectionLost() } }
        for (_, tunnel) in tunnels { tunnel.finish(reason) }
        tunnels.removeAll()
        for (_, open) in tunnelOpens { open.continuation.resume(throwing: GatewayError(.serviceUnavailable, reason)) }
        tunnelOpens.removeAll()
        let failed = pending
        pending.removeAll()
        for (_, call) in failed {
            call.continuation.resume(returning: RPCResponse(status: .unavailable, message: reason))
        }
    }

    private func received(_ frame: Frame) throws {
        switch frame.type {
        case .rpcResponse:
            let response = try RPCResponse(payload: frame.payload)
            pending.removeValue(forKey: frame.streamID)?.continuation.resume(returning: response)
        case .tunnelData, .tunnelWindow:
            tunnels[frame.streamID]?.received(frame)
        case .tunnelClose:
            tunnels.removeValue(forKey: frame.streamID)?.received(frame)
        case .tunnelReply:
            let reply = try TunnelReply(payload: frame.payload)
            if let open = tunnelOpens.removeValue(forKey: frame.streamID) {
                open.continuation.resume(returning: reply)
            } else if reply.isOpen {
                // Its caller gave up waiting: close it at once.
                channel?.writeAndFlush(TunnelClose(reason: "the client left").frame(streamID: frame.streamID), promise: nil)
            }
        case .certificateRenewed:
            let answer = try CertificateRenewed(payload: frame.payload)
            if let renewer { Task { await renewer.received(answer) } }
        case .pong:
            break
        case .ping:
            channel?.writeAndFlush(Pong(nonce: try Ping(payload: frame.payload).nonce).frame(), promise: nil)
        case .error:
            throw try ErrorFrame(payload: frame.payload).wireError
        default:
            throw WireError(.unexpectedMessage, "the control plane sent \(frame.type)")
        }
    }

    /// Sends a renewal request on the current connection, if its control plane renews.
    private func sendRenewal(_ request: CertificateRenewal) -> Bool {
        guard let channel, renewalCapable else { return false }
        channel.writeAndFlush(request.frame(allocator: channel.allocator), promise: nil)
        return true
    }

    /// Takes a renewed identity: the next connection presents it.
    private func adopt(_ renewed: TLSIdentity) {
        identity = renewed
    }

    /// Fails calls whose deadline passed, once an interval.
    private func expiryLoop(interval: Duration) async throws {
        while true {
            try await Task.sleep(for: interval)
            expireOverdueCalls()
        }
    }

    /// Answers calls (and tunnel opens) past their deadline. Runs on the ping loop's tick,
    /// so none needs a timer of its own; the timeout is honoured to within one interval.
    private func expireOverdueCalls() {
        let now = NIODeadline.now()
        for (streamID, call) in pending where call.deadline <= now {
            pending.removeValue(forKey: streamID)
            call.continuation.resume(
                returning: RPCResponse(status: .unavailable, message: "the control plane did not answer in time")
            )
        }
        for (streamID, open) in tunnelOpens where open.deadline <= now {
            tunnelOpens.removeValue(forKey: streamID)
            open.continuation.resume(
                throwing: GatewayError(.gatewayTimeout, "the instance's node did not answer in time")
            )
        }
    }

    private func waitForChannel() async throws -> any Channel {
        if let channel { return channel }
        let id = nextWaiterID
        nextWaiterID += 1
        let wait = configuration.connectWait
        let timer = Task {
            try await Task.sleep(for: wait)
            self.expireWaiter(id)
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            connectionWaiters[id] = continuation
        }
    }

    private func expireWaiter(_ id: UInt64) {
        connectionWaiters.removeValue(forKey: id)?.resume(
            throwing: GatewayError(.serviceUnavailable, "the control plane is not reachable")
        )
    }

    /// Sends one RPC and returns the control plane's answer (any status).
    /// `extraTime` lengthens the deadline for calls that wait on purpose (wait-for-state).
    public func call(
        _ method: RPCMethod,
        principal: Principal,
        body: some WireEncodable,
        extraTime: Duration = .zero
    ) async throws -> RPCResponse {
        let channel = try await waitForChannel()
        let streamID = nextStreamID
        nextStreamID = nextStreamID == UInt32.max ? 1 : nextStreamID + 1
        let frame = RPCRequest(method: method, principal: principal, body: body.encodedBytes(), requestID: RequestID.current)
            .frame(streamID: streamID, allocator: channel.allocator)
        let deadline = NIODeadline.now() + TimeAmount(configuration.callTimeout + extraTime)
        return try await withCheckedThrowingContinuation { continuation in
            pending[streamID] = (continuation, deadline)
            channel.writeAndFlush(frame, promise: nil)
        }
    }

    /// Opens a tunnel to `port` on an instance, as `principal`; throws the control plane's
    /// refusal as a ``GatewayError`` with its status (403, 404, 409, 429, 502, 503).
    public func openTunnel(instanceID: String, port: Int, principal: Principal) async throws -> GatewayTunnel {
        let channel = try await waitForChannel()
        let streamID = nextTunnelID
        nextTunnelID = nextTunnelID == UInt32.max ? 1 : nextTunnelID + 1
        let frame = TunnelOpen(instanceID: instanceID, port: port, window: TunnelLimits.window, principal: principal)
            .frame(streamID: streamID, allocator: channel.allocator)
        // Expired with the calls, by the ping loop's sweep (``expireOverdueCalls()``).
        let deadline = NIODeadline.now() + TimeAmount(configuration.callTimeout)
        let reply = try await withCheckedThrowingContinuation { continuation in
            tunnelOpens[streamID] = (continuation, deadline)
            channel.writeAndFlush(frame, promise: nil)
        }
        guard reply.isOpen else {
            throw GatewayError(HTTPResponse.Status(code: reply.status == 0 ? 502 : reply.status), reply.error)
        }
        let tunnel = GatewayTunnel(streamID: streamID, channel: channel, credit: reply.window)
        tunnels[streamID] = tunnel
        return tunnel
    }

    /// Forgets a closed tunnel (its end at the gateway closed it).
    public func forget(_ tunnel: GatewayTunnel) {
        if tunnels[tunnel.streamID] === tunnel { tunnels.removeValue(forKey: tunnel.streamID) }
    }
}
