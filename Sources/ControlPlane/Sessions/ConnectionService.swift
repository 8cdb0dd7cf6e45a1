import Logging
import NIOCore
import NIOSSL
import Persistence
import Synchronization
import TLSTransport
import WireProtocol
import X509

/// Serves the control plane's connections: what each frame asks, from accept to close.
///
/// The first frame decides what the connection is: `enrollRequest` (no client
/// certificate needed) or `hello` (a node or gateway certificate required). Any
/// protocol error is answered with an ``ErrorFrame`` and closes this connection only.
/// Each connection's frames arrive through its ``PeerConnectionHandler``; those that need
/// a suspension are handled in order by ``drain(_:channel:connectionID:)``.
struct ConnectionService: Sendable {
    let fleet: Fleet
    let enrollment: EnrollmentService
    let dispatcher: RPCDispatcher
    let revocations: RevocationSet
    let connections: OpenConnections
    /// VM access tunnels between gateways and nodes.
    let tunnels: TunnelRelay
    let logger: Logger

    /// Handles a frame from an idle session on the event loop, when it needs no suspension:
    /// a node's pings, pongs, and heartbeats that do not change whether it is updating, and
    /// tunnel frames from nodes and gateways. `false` leaves the frame to the drain task
    /// (which also refuses it if it is malformed or not the peer's to send).
    func handleInline(_ frame: Frame, from session: PeerSession) -> Bool {
        if session.identity.role == .gateway {
            switch frame.type {
            case .tunnelData, .tunnelWindow, .tunnelClose:
                tunnels.fromGateway(frame, session: session)
                return true
            default:
                return false
            }
        }
        switch frame.type {
        case .heartbeat:
            guard let heartbeat = try? Heartbeat(payload: frame.payload) else { return false }
            let recorded = session.heartbeat.withLock { previous in
                guard (previous?.updating ?? false) == heartbeat.updating else { return false }
                previous = heartbeat
                return true
            }
            guard recorded else { return false }
            session.sendInOrder(acknowledgement(of: heartbeat))
            return true
        case .ping:
            guard let ping = try? Ping(payload: frame.payload) else { return false }
            session.sendInOrder(Pong(nonce: ping.nonce))
            return true
        case .pong:
            return true
        case .tunnelData, .tunnelWindow, .tunnelReply, .tunnelClose:
            tunnels.fromNode(frame, session: session)
            return true
        default:
            return false
        }
    }

    /// Works through a connection's mailbox in order, and ends when it is empty.
    func drain(_ mailbox: ConnectionMailbox, channel: any Channel, connectionID: UInt64) async {
        while true {
            let (work, resumeReading) = mailbox.next()
            if resumeReading { channel.read() }
            guard let work else { return }
            await perform(work, mailbox: mailbox, channel: channel, connectionID: connectionID)
        }
    }

    private func perform(
        _ work: ConnectionMailbox.Work,
        mailbox: ConnectionMailbox,
        channel: any Channel,
        connectionID: UInt64
    ) async {
        let phase = mailbox.phase
        switch work {
        case .closed:
            mailbox.phase = .ending(nil)
            guard let session = phase.session else { return }
            tunnels.connectionClosed(session)
            switch session.identity.role {
            case .node: await fleet.nodeDisconnected(session)
            case .gateway: await fleet.gatewayDisconnected(session)
            case .controlPlane: break
            }
        case .failure(let failure):
            if case .ending = phase { return }
            mailbox.phase = .ending(phase.session)
            let logger = connectionLogger(channel, phase.session)
            switch failure {
            case .wire(let error):
                await refuse(error, on: channel, logger: logger)
                return
            case .handshake(let error):
                logger.warning(
                    "TLS handshake refused: the client certificate is not from this CA or not valid now, or the client is older than TLS 1.3",
                    metadata: ["error": "\(error)"]
                )
            case .tls(let error):
                logger.warning("TLS refused", metadata: ["error": "\(error)"])
            case .other(let error):
                logger.info("connection ended", metadata: ["error": "\(error)"])
            }
            channel.close(promise: nil)
        case .frame(let frame):
            do {
                switch phase {
                case .opening:
                    try await open(frame, mailbox: mailbox, channel: channel, connectionID: connectionID)
                case .node(let session):
                    if try await !handleNodeFrame(frame, from: session, nodeID: session.identity.id) {
                        mailbox.phase = .ending(session)
                        try? await channel.close()
                    }
                case .gateway(let session):
                    try handleGatewayFrame(frame, from: session)
                case .ending:
                    return
                }
            } catch let error as WireError {
                let session = mailbox.phase.session ?? phase.session
                mailbox.phase = .ending(session)
                await refuse(error, on: channel, logger: connectionLogger(channel, session))
            } catch {
                let session = mailbox.phase.session ?? phase.session
                mailbox.phase = .ending(session)
                connectionLogger(channel, session).info("connection ended", metadata: ["error": "\(error)"])
                channel.close(promise: nil)
            }
        }
    }

    /// Answers a protocol error with an error frame, then closes the connection.
    private func refuse(_ error: WireError, on channel: any Channel, logger: Logger) async {
        logger.warning("closing connection", metadata: ["code": "\(error.code)", "reason": "\(error.reason)"])
        // The error is the last frame: no ping may follow it.
        try? await channel.triggerUserOutboundEvent(StopLivenessEvent()).get()
        try? await channel.writeAndFlush(ErrorFrame(error).frame(allocator: channel.allocator)).get()
        try? await channel.close()
    }

    /// The service's logger with the peer's address and, once known, its identity.
    private func connectionLogger(_ channel: any Channel, _ session: PeerSession?) -> Logger {
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(channel.remoteAddress.map { "\($0)" } ?? "?")"
        if let session { logger[metadataKey: "identity"] = "\(session.identity)" }
        return logger
    }

    /// Serves a connection's first frame: an enrollment is served and the connection
    /// closed; a hello becomes a node or gateway session.
    private func open(
        _ first: Frame,
        mailbox: ConnectionMailbox,
        channel: any Channel,
        connectionID: UInt64
    ) async throws {
        let logger = connectionLogger(channel, nil)
        switch try await opening(first, channel: channel, connectionID: connectionID, logger: logger) {
        case .finished:
            mailbox.phase = .ending(nil)
            try? await channel.close()
        case .node(let session, let hello, let version):
            // From here a failure still lets the session go when the connection closes.
            mailbox.phase = .ending(session)
            session.send(try await fleet.nodeConnected(session, hello: hello, version: version))
            session.startPinging()
            await fleet.nodeReady(session)
            mailbox.phase = .node(session)
        case .gateway(let session, let version):
            mailbox.phase = .ending(session)
            await fleet.gatewayConnected(session)
            session.send(
                Welcome(
                    version: version,
                    capabilities: [CertificateRenewal.capability],
                    heartbeatIntervalMillis: UInt64(dispatcher.configuration.heartbeatInterval * 1000),
                    peerID: session.identity.id,
                    serverTimeMicros: Self.nowMicros()
                )
            )
            session.startPinging()
            mailbox.phase = .gateway(session)
        }
    }

    /// What a connection turned out to be after its first frame.
    enum Opening: Sendable {
        /// Served already: an enrollment.
        case finished
        case node(PeerSession, Hello, UInt32)
        case gateway(PeerSession, UInt32)

        var session: PeerSession? {
            switch self {
            case .finished: nil
            case .node(let session, _, _), .gateway(let session, _): session
            }
        }
    }

    /// Does what a connection's first frame asks: an enrollment is served here; a hello is
    /// checked (certificate, revocation, version) and becomes a session.
    private func opening(
        _ first: Frame,
        channel: any Channel,
        connectionID: UInt64,
        logger: Logger
    ) async throws -> Opening {
        let certificate = try await channel.nioSSL_peerCertificate().get().map { try $0.toCertificate() }
        switch first.type {
        case .enrollRequest:
            let response = try await enrollment.enroll(try EnrollRequest(payload: first.payload))
            try await channel.writeAndFlush(response.frame(allocator: channel.allocator)).get()
            return .finished
        case .hello:
            let identity = try authenticate(certificate, logger: logger)
            let hello = try Hello(payload: first.payload)
            guard
                let version = ProtocolVersion.negotiate(
                    clientMin: hello.minVersion,
                    clientMax: hello.maxVersion
                )
            else {
                throw WireError(
                    .unsupportedVersion,
                    "server speaks versions \(ProtocolVersion.minimumSupported)...\(ProtocolVersion.current), client \(hello.minVersion)...\(hello.maxVersion)"
                )
            }
            // Proven: the connection leaves the unauthenticated caps and deadlines.
            try? await channel.triggerUserOutboundEvent(PeerAuthenticatedEvent()).get()
            let session = PeerSession(
                connectionID: connectionID,
                identity: identity,
                serial: certificate?.serialHex ?? "",
                channel: channel,
                activity: try await FramedChannel.activity(of: channel)
            )
            switch identity.role {
            case .node:
                return .node(session, hello, version)
            case .gateway:
                return .gateway(session, version)
            case .controlPlane:
                throw WireError(.forbidden, "a control-plane certificate cannot act as a client")
            }
        default:
            throw WireError(
                .unexpectedMessage,
                "the first frame must be hello or enrollRequest, not \(first.type)"
            )
        }
    }

    /// Who the certificate speaks for; refuses missing, unknown-role and revoked ones.
    private func authenticate(_ certificate: Certificate?, logger: Logger) throws -> PeerIdentity {
        guard let certificate else {
            throw WireError(.unauthenticated, "hello needs a client certificate; enroll first")
        }
        guard let identity = PeerIdentity(certificate: certificate) else {
            throw WireError(.unauthenticated, "the client certificate names no Berth identity")
        }
        if revocations.isRevoked(certificate.serialHex) {
            logger.warning(
                "refused a revoked certificate",
                metadata: ["serial": "\(certificate.serialHex)", "identity": "\(identity)"]
            )
            throw WireError(.unauthenticated, "certificate \(certificate.serialHex) is revoked")
        }
        return identity
    }

    /// Handles one frame from a node; `false` when the node said it is leaving.
    private func handleNodeFrame(_ frame: Frame, from session: PeerSession, nodeID: String) async throws -> Bool {
        switch frame.type {
        case .heartbeat:
            let heartbeat = try Heartbeat(payload: frame.payload)
            let wasUpdating = session.heartbeat.withLock { previous in
                defer { previous = heartbeat }
                return previous?.updating ?? false
            }
            session.send(acknowledgement(of: heartbeat))
            if heartbeat.updating != wasUpdating {
                await fleet.nodeUpdating(session, heartbeat.updating)
            }
        case .logChunk:
            await fleet.logArrived(nodeID: nodeID, try LogChunk(payload: frame.payload))
        case .manifestRequest, .chunkRequest, .chunkList, .chunkData:
            try await serveContent(frame, to: session)
        case .cacheReport:
            await fleet.cacheReported(nodeID: nodeID, try CacheReport(payload: frame.payload))
        case .pullProgress:
            await fleet.pullProgressed(nodeID: nodeID, try PullProgress(payload: frame.payload))
        case .imageReport:
            await fleet.imageReported(nodeID: nodeID, try ImageReport(payload: frame.payload))
        case .tunnelData, .tunnelWindow, .tunnelReply, .tunnelClose:
            tunnels.fromNode(frame, session: session)
        case .commandAck:
            await fleet.commandAcknowledged(nodeID: nodeID, ack: try CommandAck(payload: frame.payload))
        case .instanceEvent:
            let event = try InstanceEvent(payload: frame.payload)
            do {
                session.send(try await fleet.applyEvent(nodeID: nodeID, event: event))
            } catch {
                logger.error(
                    "could not persist an instance event",
                    metadata: ["node": "\(nodeID)", "error": "\(error)"]
                )
                throw WireError(.internalError, "could not persist the event; reconnect and resend")
            }
        case .ping:
            session.send(Pong(nonce: try Ping(payload: frame.payload).nonce))
        case .pong:
            break
        case .error:
            // A node that stops says so first: it is leaving, not lost.
            let goodbye = try ErrorFrame(payload: frame.payload)
            logger.info(
                "node is leaving",
                metadata: ["node": "\(nodeID)", "reason": "\(goodbye.message.prefix(200))"]
            )
            session.markLeaving()
            return false
        case .certificateRenewal:
            await renewCertificate(try CertificateRenewal(payload: frame.payload), for: session)
        case .rpcRequest:
            throw WireError(.forbidden, "a node certificate cannot make gateway calls")
        default:
            throw WireError(.unexpectedMessage, "a node may not send \(frame.type)")
        }
        return true
    }

    /// Template content for a node: manifests and chunks it pulls, and chunks it pushes
    /// (save image). Each request is answered in turn; the node bounds how many it has
    /// outstanding, which bounds what is queued for it here.
    private func serveContent(_ frame: Frame, to session: PeerSession) async throws {
        let registry = fleet.registry
        switch frame.type {
        case .manifestRequest:
            let request = try ManifestRequest(payload: frame.payload)
            do {
                let manifest = try await registry.manifest(templateID: request.templateID, tag: request.tag)
                session.send(ManifestResponse(requestID: request.requestID, manifest: manifest))
            } catch {
                session.send(ManifestResponse(requestID: request.requestID, error: Self.describe(error)))
            }
        case .chunkRequest:
            let request = try ChunkRequest(payload: frame.payload)
            do {
                let data = try await registry.content.read(request.hash)
                session.send(ChunkData(requestID: request.requestID, data: data))
            } catch {
                session.send(ChunkData(requestID: request.requestID, error: Self.describe(error)))
            }
        case .chunkList:
            let query = try ChunkList(payload: frame.payload)
            do {
                session.send(
                    ChunkList(requestID: query.requestID, hashes: try await registry.content.missing(query.hashes))
                )
            } catch {
                session.send(ChunkList(requestID: query.requestID, error: Self.describe(error)))
            }
        case .chunkData:
            let upload = try ChunkData(payload: frame.payload)
            do {
                session.send(
                    ChunkList(requestID: upload.requestID, hashes: [try await registry.content.put(upload.data)])
                )
            } catch {
                session.send(ChunkList(requestID: upload.requestID, error: Self.describe(error)))
            }
        default:
            break
        }
    }

    /// Issues a peer a new certificate over its connection and answers with it.
    private func renewCertificate(_ request: CertificateRenewal, for session: PeerSession) async {
        guard !session.isRevoked(by: revocations.isRevoked) else {
            session.send(CertificateRenewed(error: "the certificate of \(session.identity) is revoked"))
            return
        }
        let answer = await enrollment.renew(request, for: session.identity, replacing: session.serial)
        if let leaf = try? Certificate(derEncoded: answer.certificateDER) { session.renewed(serial: leaf.serialHex) }
        session.send(answer)
    }

    static func describe(_ error: any Error) -> String {
        (error as? ControlPlaneError)?.message ?? "\(error)"
    }

    /// Handles one frame from a gateway. Calls run concurrently, each answered on its stream.
    private func handleGatewayFrame(_ frame: Frame, from session: PeerSession) throws {
        switch frame.type {
        case .rpcRequest:
            // Revoked while connected (`berth ca revoke`): refused from the next call on.
            guard !session.isRevoked(by: revocations.isRevoked) else {
                throw WireError(.unauthenticated, "the certificate of \(session.identity) is revoked")
            }
            let request = try RPCRequest(payload: frame.payload)
            let streamID = frame.streamID
            Task { [dispatcher] in
                session.send(await dispatcher.handle(request), streamID: streamID)
            }
        case .tunnelOpen:
            guard !session.isRevoked(by: revocations.isRevoked) else {
                throw WireError(.unauthenticated, "the certificate of \(session.identity) is revoked")
            }
            openTunnel(try TunnelOpen(payload: frame.payload), streamID: frame.streamID, from: session)
        case .tunnelData, .tunnelWindow, .tunnelClose:
            tunnels.fromGateway(frame, session: session)
        case .certificateRenewal:
            let request = try CertificateRenewal(payload: frame.payload)
            Task { await self.renewCertificate(request, for: session) }
        case .ping:
            session.send(Pong(nonce: try Ping(payload: frame.payload).nonce))
        case .pong:
            break
        case .heartbeat, .instanceEvent, .commandAck, .logChunk, .manifestRequest, .chunkRequest, .chunkList,
            .chunkData, .cacheReport, .pullProgress, .imageReport:
            throw WireError(.forbidden, "a gateway certificate cannot speak for a node")
        default:
            throw WireError(.unexpectedMessage, "a gateway may not send \(frame.type)")
        }
    }

    /// Authorizes a gateway's tunnel and finds the instance's node, then lets the relay open
    /// it (or answer why not) on the gateway's stream.
    private func openTunnel(_ request: TunnelOpen, streamID: UInt32, from session: PeerSession) {
        Task { [dispatcher, fleet, tunnels] in
            var user = ""
            let target: Result<(nodeID: String, session: PeerSession), TunnelRefusal>
            do {
                let principal = try await dispatcher.authorizeTunnel(
                    request.principal ?? .anonymous,
                    instanceID: request.instanceID
                )
                user = RPCDispatcher.actor(principal)
                target = await fleet.tunnelTarget(instanceID: request.instanceID)
            } catch let error as ControlPlaneError {
                let status =
                    switch error.status {
                    case .unauthenticated: 401
                    case .forbidden: 403
                    case .notFound: 404
                    default: 400
                    }
                target = .failure(TunnelRefusal(message: error.message, status: status))
            } catch {
                target = .failure(TunnelRefusal(message: "internal error", status: 500))
            }
            tunnels.open(request, streamID: streamID, from: session, user: user, target: target)
        }
    }

    /// A heartbeat's answer, with the current ping schedule.
    private func acknowledgement(of heartbeat: Heartbeat) -> HeartbeatAck {
        let pings = fleet.pings.current
        return HeartbeatAck(
            sequence: heartbeat.sequence,
            serverTimeMicros: Self.nowMicros(),
            pingIntervalMillis: pings.pingIntervalMillis,
            deadAfterPings: pings.deadAfterPings
        )
    }

    static func nowMicros() -> Int {
        Int(Persistence.BerthDatabase.nowMicros())
    }
}
