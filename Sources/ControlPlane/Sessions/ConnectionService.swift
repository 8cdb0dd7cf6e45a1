import Logging
import NIOCore
import NIOSSL
import Persistence
import Synchronization
import TLSTransport
import WireProtocol
import X509

/// Serves one TLS connection from accept to close.
///
/// The first frame decides what the connection is: `enrollRequest` (no client
/// certificate needed) or `hello` (a node or gateway certificate required). Any
/// protocol error is answered with an ``ErrorFrame`` and closes this connection only.
struct ConnectionHandler: Sendable {
    let fleet: Fleet
    let enrollment: EnrollmentService
    let dispatcher: RPCDispatcher
    let revocations: RevocationSet
    let logger: Logger

    func handle(_ connection: FramedChannel.Connection, connectionID: UInt64) async {
        let channel = connection.channel
        let remote = channel.remoteAddress.map { "\($0)" } ?? "?"
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(remote)"
        do {
            try await connection.executeThenClose { inbound, _ in
                var frames = inbound.makeAsyncIterator()
                do {
                    // The opening (certificate, hello, or an enrollment) runs in a task of its
                    // own: a task keeps the memory its deepest call took until it ends, and
                    // the opening's frames (about 7 KiB) would otherwise stay with every
                    // session for its whole life. Idle sessions are most of a fleet's memory.
                    guard let first = try await frames.next() else { return }
                    let opening = try await Task { [self, logger] in
                        try await open(first, channel: channel, connectionID: connectionID, logger: logger)
                    }.value
                    if let session = opening.session { logger[metadataKey: "identity"] = "\(session.identity)" }
                    switch opening {
                    case .finished:
                        return
                    case .node(let session, let hello, let version):
                        try await serveNode(session, hello: hello, version: version, frames: &frames)
                    case .gateway(let session, let version):
                        try await serveGateway(session, version: version, frames: &frames)
                    }
                } catch let error as WireError {
                    logger.warning(
                        "closing connection",
                        metadata: ["code": "\(error.code)", "reason": "\(error.reason)"]
                    )
                    // The error is the last frame: no ping may follow it.
                    try? await channel.triggerUserOutboundEvent(StopLivenessEvent()).get()
                    try? await channel.writeAndFlush(ErrorFrame(error).frame(allocator: channel.allocator)).get()
                }
            }
        } catch let error as NIOSSLError {
            logger.warning(
                "TLS handshake refused: the client certificate is not from this CA or not valid now, or the client is older than TLS 1.3",
                metadata: ["error": "\(error)"]
            )
        } catch let error as BoringSSLError {
            logger.warning("TLS refused", metadata: ["error": "\(error)"])
        } catch is CancellationError {
            return
        } catch {
            logger.info("connection ended", metadata: ["error": "\(error)"])
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
    private func open(
        _ first: Frame,
        channel: Channel,
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

    private func serveNode(
        _ session: PeerSession,
        hello: Hello,
        version: UInt32,
        frames: inout NIOAsyncChannelInboundStream<Frame>.AsyncIterator
    ) async throws {
        // Connecting runs in tasks of its own: a task keeps the memory its deepest call took
        // until it ends, and `Fleet.nodeConnected`'s frames (about 8 KiB) would otherwise
        // stay with every session for its whole life. (`async let` does not help: a child
        // task's memory comes from its parent's allocator.)
        let fleet = self.fleet
        session.send(try await Task { try await fleet.nodeConnected(session, hello: hello, version: version) }.value)
        session.startPinging()
        await Task { await fleet.nodeReady(session) }.value
        defer { Task { [fleet] in await fleet.nodeDisconnected(session) } }
        let nodeID = session.identity.id
        // Each frame is handled in a call of its own: this loop's frame, which a session
        // keeps while it waits for the next one, holds only the loop.
        while let frame = try await frames.next() {
            guard try await handleNodeFrame(frame, from: session, nodeID: nodeID) else { return }
        }
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
            let pings = fleet.pings.current
            session.send(
                HeartbeatAck(
                    sequence: heartbeat.sequence,
                    serverTimeMicros: Self.nowMicros(),
                    pingIntervalMillis: pings.pingIntervalMillis,
                    deadAfterPings: pings.deadAfterPings
                )
            )
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

    static func describe(_ error: any Error) -> String {
        (error as? ControlPlaneError)?.message ?? "\(error)"
    }

    private func serveGateway(
        _ session: PeerSession,
        version: UInt32,
        frames: inout NIOAsyncChannelInboundStream<Frame>.AsyncIterator
    ) async throws {
        await fleet.gatewayConnected(session)
        defer { Task { [fleet] in await fleet.gatewayDisconnected(session) } }
        session.send(
            Welcome(
                version: version,
                heartbeatIntervalMillis: UInt64(dispatcher.configuration.heartbeatInterval * 1000),
                peerID: session.identity.id,
                serverTimeMicros: Self.nowMicros()
            )
        )
        session.startPinging()
        try await withThrowingDiscardingTaskGroup { group in
            while let frame = try await frames.next() {
                switch frame.type {
                case .rpcRequest:
                    // Revoked while connected (`berth ca revoke`): refused from the next call on.
                    guard !revocations.isRevoked(session.serial) else {
                        throw WireError(.unauthenticated, "certificate \(session.serial) is revoked")
                    }
                    let request = try RPCRequest(payload: frame.payload)
                    let streamID = frame.streamID
                    group.addTask {
                        let response = await dispatcher.handle(request)
                        session.send(response, streamID: streamID)
                    }
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
        }
    }

    static func nowMicros() -> Int {
        Int(Persistence.BerthDatabase.nowMicros())
    }
}
