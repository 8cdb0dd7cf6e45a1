import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import TLSTransport
import WireProtocol
import X509

/// The agent on one build host: keeps one mTLS connection to the control plane, runs the
/// commands it receives through a driver and reports what happens.
///
/// Reconnects with jittered exponential backoff. Commands are applied at most once per
/// (epoch, id) (the last applied one survives restarts when `stateFile` is set); events are
/// kept until the control plane acknowledges them and resent after a reconnect.
public actor NodeAgent {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Further control-plane replicas, tried in turn after `host:port` (docs/ha.md). A
        /// follower's redirect to the leader is followed whichever address answered.
        public var otherControlPlanes: [ControlPlaneAddress] = []
        public var nodeName: String
        public var identity: TLSIdentity
        public var trustRoot: Certificate
        public var agentVersion: String = "berth-node/0.1.0"
        /// Reconnect delays after a refusal, a reset or a failed connect: the control plane's
        /// host answered, so it is down, restarting or busy. Full jitter spreads the fleet;
        /// the 5 s ceiling bounds how long a node stays away after its control plane is back
        /// (a refused connect costs that host only a kernel reset, and a restarted control
        /// plane queues a crowd in its accept queue behind its handshake gate).
        public var backoff = Backoff(base: .milliseconds(200), maximum: .seconds(5))
        /// Reconnect delays after the path to the control plane went dark (a timeout, not a
        /// refusal): short, so the node is back soon after the network heals, before the
        /// control plane's offline timeout. A refused or failed connection (the control plane
        /// is down or restarting) uses ``backoff`` instead, so a restart sees no herd.
        public var pathLossBackoff = Backoff(base: .milliseconds(100), maximum: .seconds(1))
        /// Failed attempts in a row, since the last connection, that may use
        /// ``pathLossBackoff``; later ones use ``backoff``. A timeout looks the same whether
        /// the path is dark or the control plane's accept queue is full (a restarted control
        /// plane with a whole fleet redialling drops SYNs), and a fleet that kept redialling
        /// within a second would keep that queue full: the storm would feed itself.
        public var pathLossAttempts = 3
        /// A TCP connect must succeed this soon while the node retries quickly after a dark
        /// path (a SYN and its first retransmission), so it is back soon after the path heals.
        public var connectTimeout: Duration = .seconds(2)
        /// A TCP connect must succeed this soon otherwise: at start, and after the control
        /// plane's host answered (a reset, a refusal, a closed connection) or the quick
        /// retries ran out. The control plane is then up or restarting, and a restarted one's
        /// full accept queue drops SYNs; the kernel retransmits them after 1, 3 and 7 s at no
        /// cost to either end. A 2 s limit turned each drop into a new attempt (a socket, a
        /// TLS client, a failure, a backoff): a reconnect of 10,000 nodes made 15,000 of them
        /// and took 19–26 s instead of 14–15 (decisions.md, "A connect to a restarting control
        /// plane waits").
        public var patientConnectTimeout: Duration = .seconds(10)
        /// The local address to dial from; the system picks one when `nil`. The fleet
        /// simulator gives each node its own loopback address, as each real node has its own
        /// host: 10,000 nodes sharing one address share one range of ephemeral ports.
        public var sourceAddress: SocketAddress?
        /// The TLS handshake, and then hello to welcome, must each finish this soon.
        public var setupTimeout: Duration = .seconds(10)
        /// Where the last applied command (id and epoch) is kept across agent restarts.
        public var stateFile: URL?
        /// Missed server answers, in heartbeat intervals, before the connection counts as dead;
        /// used only with a control plane whose welcome names no ping interval.
        public var deadAfterIntervals: Double = 3
        /// Shell command run by `sh -c` when the control plane asks the agent to update
        /// (Anka `PUT /api/v1/node/update`), e.g. a package upgrade. Without one, the agent
        /// reports `Updating`, has nothing to install, and reports `Active` again.
        public var updateCommand: String?
        /// The template cache; a fresh temporary directory when `nil`.
        public var cacheDirectory: URL?
        /// Chunk requests (or uploads) a transfer keeps outstanding: the flow-control window.
        public var transferWindow = 8
        /// How long a transfer (a pull or a save image's upload) waits for the connection to
        /// come back after it dropped, before the transfer fails.
        public var transferResumeTimeout: Duration = .seconds(300)
        /// Chunk size for files that save image adds (existing files keep their template's).
        public var chunkSize = 1 << 20
        /// Where `node.crt` is rewritten when the certificate is renewed over the connection
        /// (``CertificateRenewer``); `nil` keeps renewals in memory.
        public var certificateDirectory: URL?

        public init(host: String, port: Int, nodeName: String, identity: TLSIdentity, trustRoot: Certificate) {
            self.host = host
            self.port = port
            self.nodeName = nodeName
            self.identity = identity
            self.trustRoot = trustRoot
        }
    }

    /// What the agent tells an observer (tests, the CLI's log).
    public enum Notification: Sendable, Equatable {
        case connected(nodeID: String)
        case disconnected(reason: String)
        case refused(reason: String)
        /// The control plane changed how often the connection is pinged (its fleet grew or
        /// shrank); the connection now pings after `intervalMillis` of silence.
        case pingIntervalChanged(intervalMillis: UInt64, deadAfterPings: UInt64)
        /// The certificate was renewed over the connection; later connections present this one.
        case certificateRenewed(serial: String)
    }

    public let configuration: Configuration
    let driver: any InstanceDriver
    let logger: Logger
    let group: any EventLoopGroup
    /// Changes with every agent process, so event ids never collide across restarts.
    let epoch: UInt64
    var sequence: UInt64 = 0
    var unacked: [UInt64: InstanceEvent] = [:]
    /// Callers of ``eventsAcknowledged()`` waiting for `unacked` to empty.
    var acknowledgementWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    var nextWaiterID: UInt64 = 0
    var lastAppliedCommandID: UInt64 = 0
    /// The control-plane epoch of `lastAppliedCommandID` (see ``NodeCommand/epoch``).
    var lastAppliedEpoch: UInt64 = 0
    var channel: (any Channel)?
    /// The ping interval and pings of silence in force on `channel` (0 when the control
    /// plane does not ping): from the welcome, then from heartbeat acks as the fleet grows.
    var pingSettings: (intervalMillis: UInt64, deadAfterPings: UInt64) = (0, 0)
    var lastInbound = NIODeadline.now()
    var operations: [String: Task<Void, Never>] = [:]
    var heartbeatSequence: UInt64 = 0
    /// Reported in heartbeats while an agent update runs.
    var updating = false
    var backoff: Backoff
    var pathLossBackoff: Backoff
    /// The control planes to dial, and which one is next.
    var addresses: ControlPlaneAddresses
    /// Whether the current attempt reached a welcome; a failure before it moves on to the
    /// next control-plane address.
    var welcomed = false
    /// Built at the first connect and kept: building one parses the key and certificates,
    /// which costs more than a handshake, and a fleet reconnecting at once pays it per node.
    var sslContext: NIOSSLContext?
    public private(set) var connections = 0
    /// The identity presented at the next connect: the enrolled one, then each renewal's.
    public private(set) var identity: TLSIdentity
    /// Renews the certificate at about two thirds of its lifetime.
    let renewer: CertificateRenewer?
    /// Whether the control plane of the current connection renews certificates.
    var renewalCapable = false

    /// Template content this node holds.
    public let cache: TemplateCache
    var contentWaiters: [UInt64: CheckedContinuation<ContentReply, any Error>] = [:]
    /// Transfers waiting for the next connection after theirs dropped.
    var connectionWaiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    var nextConnectionWaiter: UInt64 = 0
    /// Starts still pulling or provisioning (the driver does not list them yet), reported
    /// in the hello so that a reconnect mid-pull is not taken for a lost instance.
    var startsInProgress: Set<String> = []
    var nextContentRequest: UInt64 = 1
    /// The manifest each instance started from (save image re-uses its chunk sizes).
    var instanceTemplates: [String: TemplateManifest] = [:]
    /// Save-image outcomes, sent again after a reconnect (the control plane ignores repeats).
    var imageReports: [String: ImageReport] = [:]
    /// Chunk bytes received from the control plane since the agent started.
    public internal(set) var bytesFetched = 0
    /// Chunk bytes sent to the control plane (save image) since the agent started.
    public internal(set) var bytesUploaded = 0

    /// VM access tunnels to this node's instances.
    let tunnels: NodeTunnels

    public nonisolated let notifications: AsyncStream<Notification>
    let notify: AsyncStream<Notification>.Continuation

    public init(
        configuration: Configuration,
        driver: any InstanceDriver,
        logger: Logger = Logger(label: "berth.node"),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.driver = driver
        self.logger = logger
        self.group = group
        self.epoch = UInt64.random(in: 1...UInt64.max)
        self.backoff = configuration.backoff
        self.pathLossBackoff = configuration.pathLossBackoff
        self.addresses = ControlPlaneAddresses(
            [ControlPlaneAddress(host: configuration.host, port: configuration.port)] + configuration.otherControlPlanes
        )
        self.tunnels = NodeTunnels(group: group, logger: logger)
        self.identity = configuration.identity
        self.renewer = try? CertificateRenewer(
            identity: configuration.identity,
            trustRoot: configuration.trustRoot,
            directory: configuration.certificateDirectory,
            name: "node",
            logger: logger
        )
        self.cache = TemplateCache(
            root: configuration.cacheDirectory
                ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                    "berth-cache-\(RandomID.uuid())",
                    isDirectory: true
                )
        )
        (self.notifications, self.notify) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
        // "<id> <epoch>"; a file from before epochs holds the id alone (epoch 0).
        if let file = configuration.stateFile, let text = try? String(contentsOf: file, encoding: .utf8) {
            let fields = text.split(whereSeparator: \.isWhitespace).map { UInt64($0) }
            if let id = fields.first ?? nil {
                self.lastAppliedCommandID = id
                self.lastAppliedEpoch = (fields.count > 1 ? fields[1] : 0) ?? 0
            }
        }
    }

    /// Connects and serves until the task is cancelled, reconnecting as needed.
    public func run() async {
        await driver.onVMExit { [weak self] exit in await self?.vmExited(exit) }
        var connectTimeout = configuration.patientConnectTimeout
        let renewing = Task { [renewer] in
            await renewer?.run(send: { [weak self] request in await self?.sendRenewal(request) ?? false }) {
                [weak self] identity in await self?.adopt(identity)
            }
        }
        defer { renewing.cancel() }
        while !Task.isCancelled {
            var pathLost = false
            var redirect: ControlPlaneRedirected?
            welcomed = false
            do {
                try await runSession(connectTimeout: connectTimeout)
                notify.yield(.disconnected(reason: "connection closed"))
            } catch is CancellationError {
                break
            } catch let answer as ControlPlaneRedirected {
                logger.info("a follower answered", metadata: ["from": "\(addresses.current)", "leader": "\(answer.leader)"])
                redirect = answer
            } catch let error as NodeAgentError where error.code == .serverRefused {
                logger.error("control plane refused this node", metadata: ["reason": "\(error.reason)"])
                notify.yield(.refused(reason: error.reason))
            } catch {
                pathLost = Self.isPathLoss(error)
                logger.warning("connection to control plane failed", metadata: ["error": "\(error)"])
                notify.yield(.disconnected(reason: "\(error)"))
            }
            channel = nil
            renewalCapable = false
            await renewer?.connectionLost()
            failContentWaiters()
            tunnels.closeAll()
            if addresses.attemptEnded(welcomed: welcomed, redirect: redirect) { continue }  // straight to the leader
            // Both backoffs restart at each connection, so their attempts are the failures since.
            let failedBefore = backoff.attempt + pathLossBackoff.attempt
            let quickly = pathLost && failedBefore < configuration.pathLossAttempts
            let delay = quickly ? pathLossBackoff.next() : backoff.next()
            connectTimeout = quickly ? configuration.connectTimeout : configuration.patientConnectTimeout
            logger.debug("reconnecting", metadata: ["after": "\(delay)"])
            do { try await Task.sleep(for: delay) } catch { break }
        }
        channel?.close(promise: nil)
        tunnels.closeAll()
        notify.finish()
    }

    /// Whether a failure means the network path went dark (a timeout or silence), as
    /// opposed to a control plane that answered with a refusal.
    ///
    /// A reset is an answer: the control plane's host is reachable and closed the connection
    /// (it died, restarted, or shed the connection under load). Redialling within a second,
    /// as after path loss, would have the whole fleet hit a restarted control plane at once,
    /// so a reset backs off like a refusal.
    static func isPathLoss(_ error: any Error) -> Bool {
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        if let error = error as? TLSTransportError, error.code == .peerSilent { return true }
        if let error = error as? IOError {
            return [ETIMEDOUT, EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode)
        }
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.contains { isPathLoss($0.error) }
        }
        return false
    }

    private func runSession(connectTimeout: Duration) async throws {
        let context =
            try sslContext
            ?? ControlPlaneHandshake.clientContext(identity: identity, trustRoot: configuration.trustRoot)
        sslContext = context
        let target = addresses.current
        let connection = try await ControlPlaneHandshake.connect(
            host: target.host,
            port: target.port,
            sslContext: context,
            group: group,
            connectTimeout: TimeAmount(connectTimeout),
            handshakeTimeout: TimeAmount(configuration.setupTimeout),
            localAddress: configuration.sourceAddress
        )
        let channel = connection.channel
        let setupDeadline = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.setupTimeout)) {
            FramedChannel.abort(channel)
        }
        defer { setupDeadline.cancel() }
        try await withTaskCancellationHandler {
            try await connection.executeThenClose { inbound, _ in
                var frames = inbound.makeAsyncIterator()
                let welcome: Welcome
                do {
                    welcome = try await ControlPlaneHandshake.greet(channel, frames: &frames, hello: await makeHello())
                } catch let redirect as ControlPlaneRedirected {
                    throw redirect
                } catch let error as TLSTransportError where error.code == .refusedByPeer {
                    throw NodeAgentError(.serverRefused, error.reason)
                } catch  where !channel.isActive {
                    throw TLSTransportError(.peerSilent, "no welcome within \(configuration.setupTimeout)")
                }
                setupDeadline.cancel()
                renewalCapable = welcome.capabilities.contains(CertificateRenewal.capability)
                let interval = Duration.milliseconds(Int64(max(10, welcome.heartbeatIntervalMillis)))
                // The control plane's ping interval sets how soon silence is noticed here too.
                let pinged = welcome.pingIntervalMillis > 0
                pingSettings = (0, 0)
                if pinged {
                    try await adoptPingSettings(welcome.pingIntervalMillis, welcome.deadAfterPings, on: channel)
                }
                connected(channel, nodeID: welcome.peerID)
                let heartbeats = Task {
                    try await self.heartbeatLoop(channel: channel, interval: interval, watchSilence: !pinged)
                }
                defer { heartbeats.cancel() }
                while let frame = try await frames.next() {
                    try await handle(frame)
                }
            }
        } onCancel: {
            // Stopping, not lost: the control plane marks the node Offline at once.
            let goodbye = ErrorFrame(WireError(.goingAway, "node agent stopping")).frame(allocator: channel.allocator)
            channel.writeAndFlush(goodbye).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Sends a renewal request on the current connection, if its control plane renews.
    private func sendRenewal(_ request: CertificateRenewal) -> Bool {
        guard channel != nil, renewalCapable else { return false }
        send(request)
        return true
    }

    /// Takes a renewed identity: the next connection presents it.
    private func adopt(_ renewed: TLSIdentity) {
        identity = renewed
        sslContext = nil
        notify.yield(.certificateRenewed(serial: renewed.leaf.serialHex))
    }

    private func connected(_ channel: any Channel, nodeID: String) {
        self.channel = channel
        lastInbound = .now()
        connections += 1
        welcomed = true
        backoff.reset()
        pathLossBackoff.reset()
        logger.info("connected to control plane", metadata: ["node": "\(nodeID)"])
        notify.yield(.connected(nodeID: nodeID))
        for key in unacked.keys.sorted() {
            channel.writeAndFlush(unacked[key]!.frame(allocator: channel.allocator), promise: nil)
        }
        for report in imageReports.values {
            channel.writeAndFlush(report.frame(allocator: channel.allocator), promise: nil)
        }
        resumeConnectionWaiters()
    }

    private func makeHello() async -> Hello {
        var hello = Hello()
        hello.agentVersion = configuration.agentVersion
        hello.nodeName = configuration.nodeName
        hello.resources = await driver.resources()
        hello.templates = await cache.held()
        hello.cacheBytes = await cache.bytes()
        hello.instances = await driver.instances()
        let listed = Set(hello.instances.map(\.instanceID))
        for id in startsInProgress.sorted() where !listed.contains(id) {
            hello.instances.append(InstanceStatus(instanceID: id, state: .pulling))
        }
        hello.lastAppliedCommandID = lastAppliedCommandID
        hello.lastAppliedEpoch = lastAppliedEpoch
        // Sent again after the welcome (``connected(_:nodeID:)``); the control plane applies
        // them before it judges these instances.
        hello.pendingEventInstances = Set(unacked.values.map(\.status.instanceID)).sorted()
        return hello
    }

    private func heartbeatLoop(channel: any Channel, interval: Duration, watchSilence: Bool) async throws {
        let deadAfter = interval * configuration.deadAfterIntervals
        // The first one after a random part of the interval: nodes that connected together
        // (a control-plane restart, a simulator) would otherwise heartbeat together forever,
        // a burst of the whole fleet's heartbeats every interval.
        try await Task.sleep(for: interval * Double.random(in: 0..<1))
        while true {
            if watchSilence && silence() > deadAfter {
                logger.warning("control plane stopped answering; reconnecting")
                channel.close(promise: nil)
                return
            }
            await sendHeartbeat()
            try await Task.sleep(for: interval)
        }
    }

    /// Sends a heartbeat now (also outside the interval, when the agent's state changes).
    private func sendHeartbeat() async {
        heartbeatSequence += 1
        let heartbeat = await makeHeartbeat(sequence: heartbeatSequence)
        send(heartbeat)
    }

    private func silence() -> Duration {
        Duration(NIODeadline.now() - lastInbound)
    }

    private func makeHeartbeat(sequence: UInt64) async -> Heartbeat {
        let instances = await driver.instances()
        let resources = await driver.resources()
        let running = instances.filter { $0.state == .started }
        let cpu = running.reduce(0) { $0 + ($1.vmInfo?.cpuCores ?? 0) }
        let ram = running.reduce(0) { $0 + ($1.vmInfo?.ramMB ?? 0) }
        let figures = await driver.figures()
        return Heartbeat(
            sequence: sequence,
            cpuUtil: resources.cpuCount > 0 ? min(1, Double(cpu) / Double(resources.cpuCount)) : 0,
            ramUtil: resources.ramMB > 0 ? min(1, Double(ram) / Double(resources.ramMB)) : 0,
            freeDiskBytes: resources.freeDiskBytes,
            instances: instances.map { InstanceStatus(instanceID: $0.instanceID, state: $0.state) },
            updating: updating,
            figures: figures
        )
    }

    /// Pings after `intervalMillis` of silence, and drops the connection after
    /// `deadAfterPings` (at least 2) such intervals.
    private func adoptPingSettings(
        _ intervalMillis: UInt64,
        _ deadAfterPings: UInt64,
        on channel: any Channel
    )
        async throws
    {
        let ping = TimeAmount.milliseconds(Int64(intervalMillis))
        let deadAfter = ping * Int64(max(2, deadAfterPings))
        try await FramedChannel.startLiveness(LivenessOptions(pingInterval: ping, deadAfter: deadAfter), on: channel)
        pingSettings = (intervalMillis, deadAfterPings)
    }

    private func handle(_ frame: Frame) async throws {
        lastInbound = .now()
        switch frame.type {
        case .nodeCommand:
            receive(try NodeCommand(payload: frame.payload))
        case .eventAck:
            let ack = try EventAck(payload: frame.payload)
            if ack.epoch == epoch {
                unacked.removeValue(forKey: ack.sequence)
                if unacked.isEmpty { resumeAcknowledgementWaiters() }
            }
        case .logRequest:
            let request = try LogRequest(payload: frame.payload)
            let url = driver.logURL(instanceID: request.instanceID)
            send(InstanceLogFile.read(url, requestID: request.requestID, offset: request.offset, limit: request.limit))
        case .certificateRenewed:
            await renewer?.received(try CertificateRenewed(payload: frame.payload))
        case .manifestResponse:
            resumeContent(.manifest(try ManifestResponse(payload: frame.payload)))
        case .chunkData:
            resumeContent(.chunk(try ChunkData(payload: frame.payload)))
        case .chunkList:
            resumeContent(.list(try ChunkList(payload: frame.payload)))
        case .heartbeatAck:
            let ack = try HeartbeatAck(payload: frame.payload)
            if ack.pingIntervalMillis > 0, pingSettings.intervalMillis > 0, let channel,
                (ack.pingIntervalMillis, ack.deadAfterPings) != pingSettings
            {
                try await adoptPingSettings(ack.pingIntervalMillis, ack.deadAfterPings, on: channel)
                notify.yield(
                    .pingIntervalChanged(intervalMillis: ack.pingIntervalMillis, deadAfterPings: ack.deadAfterPings)
                )
            }
        case .tunnelOpen:
            let request = try TunnelOpen(payload: frame.payload)
            guard let channel else { return }
            let driver = self.driver
            tunnels.open(request, streamID: frame.streamID, control: channel) {
                try await driver.endpoint(instanceID: request.instanceID, port: request.port)
            }
        case .tunnelData, .tunnelWindow, .tunnelClose:
            tunnels.received(frame)
        case .pong:
            break
        case .ping:
            send(Pong(nonce: try Ping(payload: frame.payload).nonce))
        case .error:
            let error = try ErrorFrame(payload: frame.payload)
            throw NodeAgentError(.serverRefused, error.message)
        default:
            throw WireError(.unexpectedMessage, "the control plane sent \(frame.type)")
        }
    }

    func send<M: WireMessage>(_ message: M) {
        guard let channel else { return }
        channel.writeAndFlush(message.frame(allocator: channel.allocator), promise: nil)
    }

    // MARK: commands

    private func receive(_ command: NodeCommand) {
        // Ids only grow within an epoch; another epoch's command is new (a control plane
        // whose database was restored issues ids again, under a new epoch).
        guard command.epoch != lastAppliedEpoch || command.commandID > lastAppliedCommandID else {
            send(CommandAck(commandID: command.commandID, accepted: true, message: "already applied"))
            return
        }
        lastAppliedCommandID = command.commandID
        lastAppliedEpoch = command.epoch
        if let file = configuration.stateFile {
            try? Data("\(lastAppliedCommandID) \(lastAppliedEpoch)\n".utf8).write(to: file, options: .atomic)
        }
        send(CommandAck(commandID: command.commandID))
        // Pulls run side by side, each under its own key so a cancel can find it.
        let id =
            command.kind == .pullTemplate || command.kind == .cancelPull
            ? "pull:\(command.template?.distributionID ?? "")" : command.instanceID
        let previous = operations[id]
        if command.kind == .terminate || command.kind == .cancelPull { previous?.cancel() }
        if command.kind == .cancelPull { return }
        operations[id] = Task {
            await previous?.value
            await self.execute(command)
        }
    }

    /// Adds a line to an instance's log.
    func log(_ instanceID: String, _ text: String) {
        InstanceLogFile.append(driver.logURL(instanceID: instanceID), text)
    }

    private func execute(_ command: NodeCommand) async {
        let id = command.instanceID
        do {
            switch command.kind {
            case .start:
                guard let spec = command.start else { throw DriverError("start command without a spec") }
                // A start sent again (a control plane restored from a backup taken before this
                // node acknowledged it) must not start a second VM: report the one that runs.
                if let running = await driver.instances().first(where: { $0.instanceID == id }) {
                    log(id, "start: already running here; reporting it")
                    emit(running)
                    return
                }
                log(id, "start: template \(spec.templateName) (\(spec.templateID)) tag \(spec.tag) as \(spec.vmName)")
                startsInProgress.insert(id)
                defer { startsInProgress.remove(id) }
                let template = try await ensureTemplate(for: spec, instanceID: id)
                instanceTemplates[id] = template
                try Task.checkCancellation()
                try await driver.provision(instanceID: id, template: template, from: cache)
                let info = try await driver.start(instanceID: id, spec: spec)
                if Task.isCancelled { return }
                log(id, "started \(info.name) (ip \(info.ip.isEmpty ? "-" : info.ip))")
                try await startupScript(instanceID: id, options: spec.options, info: info)
            case .stop:
                log(id, "stopping")
                tunnels.close(instanceID: id)
                emit(InstanceStatus(instanceID: id, state: .stopping))
                let info = try await driver.stop(instanceID: id)
                emit(InstanceStatus(instanceID: id, state: .stopped, vmInfo: info))
            case .restart:
                log(id, "restarting")
                tunnels.close(instanceID: id)
                let info = try await driver.restart(instanceID: id)
                emit(InstanceStatus(instanceID: id, state: .started, vmInfo: info))
            case .terminate:
                tunnels.close(instanceID: id)
                try await driver.terminate(instanceID: id)
                emit(InstanceStatus(instanceID: id, state: .terminated))
                operations.removeValue(forKey: id)
                instanceTemplates.removeValue(forKey: id)
            case .pullTemplate:
                if let template = command.template { await distributionPull(template) }
                operations.removeValue(forKey: "pull:\(command.template?.distributionID ?? "")")
                return
            case .cancelPull:
                return
            case .removeTemplate:
                if let template = command.template, await cache.remove(templateID: template.templateID) {
                    logger.info("removed a template from the cache", metadata: ["template": "\(template.templateID)"])
                }
                send(await cache.report())
            case .saveImage:
                guard let spec = command.saveImage else { throw DriverError("save image command without a spec") }
                await saveImage(instanceID: id, spec: spec)
            case .updateAgent:
                await updateAgent()
            }
        } catch is CancellationError {
            return
        } catch {
            logger.warning(
                "instance operation failed",
                metadata: ["instance": "\(id)", "op": "\(command.kind)", "error": "\(error)"]
            )
            log(id, "error: \(error)")
            emit(InstanceStatus(instanceID: id, state: .error, message: "\(error)"))
        }
    }

    /// Runs the start's startup script, if any, and reports the instance.
    ///
    /// Unmonitored: the instance is `Started` at once and the script runs beside it. Monitored:
    /// the instance is `Started` only after the script succeeded; otherwise it is `Error`
    /// with the result attached, and the VM is stopped (handler 0), kept (1) or deleted (2).
    private func startupScript(instanceID id: String, options: StartOptions, info: VMInfo) async throws {
        guard !options.startupScript.isEmpty else {
            emit(InstanceStatus(instanceID: id, state: .started, vmInfo: info))
            return
        }
        let timeout = Duration.seconds(options.scriptTimeout ?? 90)
        guard options.scriptMonitoring else {
            emit(InstanceStatus(instanceID: id, state: .started, vmInfo: info))
            let driver = self.driver
            let logger = self.logger
            Task {
                let result = await driver.runScript(instanceID: id, script: options.startupScript, timeout: timeout)
                await self.log(id, Self.describe(result))
                if !result.succeeded {
                    logger.info(
                        "unmonitored startup script failed",
                        metadata: ["instance": "\(id)", "exit": "\(result.returnCode)"]
                    )
                }
            }
            return
        }
        log(id, "startup script: running (monitored, timeout \(options.scriptTimeout ?? 90)s)")
        let result = await driver.runScript(instanceID: id, script: options.startupScript, timeout: timeout)
        log(id, Self.describe(result))
        try Task.checkCancellation()
        if result.succeeded {
            emit(InstanceStatus(instanceID: id, state: .started, vmInfo: info, scriptResult: result))
            return
        }
        let reason =
            result.didTimeout
            ? "startup script timed out after \(options.scriptTimeout ?? 90)s"
            : result.errors.first.map { "startup script could not run: \($0)" }
                ?? "startup script failed with exit code \(result.returnCode)"
        var vmInfo: VMInfo? = info
        switch options.scriptFailHandler {
        case 1:
            break
        case 2:
            try await driver.terminate(instanceID: id)
            vmInfo = nil
        default:
            vmInfo = try await driver.stop(instanceID: id) ?? info
        }
        emit(InstanceStatus(instanceID: id, state: .error, message: reason, vmInfo: vmInfo, scriptResult: result))
    }

    /// A startup script's outcome as log text.
    static func describe(_ result: ScriptResult) -> String {
        var text = "startup script: exit \(result.returnCode)\(result.didTimeout ? " (timed out)" : "")"
        if !result.stdout.isEmpty { text += "\n--- stdout\n" + result.stdout.trimmingCharacters(in: .newlines) }
        if !result.stderr.isEmpty { text += "\n--- stderr\n" + result.stderr.trimmingCharacters(in: .newlines) }
        for error in result.errors { text += "\n--- error: \(error)" }
        return text
    }

    /// Reports `Updating`, runs the configured update command, and reports back. After a
    /// successful command the agent reconnects, so its hello announces what is now installed.
    private func updateAgent() async {
        updating = true
        await sendHeartbeat()
        var reconnect = false
        if let command = configuration.updateCommand {
            logger.info("updating the node agent", metadata: ["command": "\(command)"])
            let status = await AgentUpdateCommand.run(command)
            if status == 0 {
                reconnect = true
            } else {
                logger.error("agent update command failed", metadata: ["exit": "\(status)"])
            }
        }
        updating = false
        await sendHeartbeat()
        if reconnect { channel?.close(promise: nil) }
    }

    /// Records an instance event and sends it when connected.
    /// Reports a VM that ended on its own (``InstanceStatus/exited``). The driver calls
    /// this only when nothing the agent did ended it (a stop, restart or terminate forgets
    /// the VM's process first).
    private func vmExited(_ exit: VMExit) {
        let id = exit.instanceID
        tunnels.close(instanceID: id)
        let message = "the VM exited with code \(exit.code)"
        log(id, message)
        logger.notice("VM ended on its own", metadata: ["instance": "\(id)", "code": "\(exit.code)"])
        var status = InstanceStatus(
            instanceID: id,
            state: exit.code == 0 ? .stopped : .error,
            message: message,
            vmInfo: exit.vmInfo
        )
        status.exited = true
        emit(status)
    }

    func emit(_ status: InstanceStatus) {
        sequence += 1
        let event = InstanceEvent(
            epoch: epoch,
            sequence: sequence,
            status: status,
            timestampMicros: Int(Date().timeIntervalSince1970 * 1_000_000)
        )
        unacked[sequence] = event
        send(event)
    }

    /// Events not yet acknowledged by the control plane.
    public var pendingEventCount: Int { unacked.count }

    /// Returns once every event sent so far has been acknowledged by the control plane (at
    /// once if none is pending), or when the waiting task is cancelled.
    public func eventsAcknowledged() async {
        if unacked.isEmpty || Task.isCancelled { return }
        nextWaiterID += 1
        let id = nextWaiterID
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled || unacked.isEmpty {
                    continuation.resume()
                } else {
                    acknowledgementWaiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.resumeAcknowledgementWaiter(id) }
        }
    }

    private func resumeAcknowledgementWaiter(_ id: UInt64) {
        acknowledgementWaiters.removeValue(forKey: id)?.resume()
    }

    private func resumeAcknowledgementWaiters() {
        let waiters = acknowledgementWaiters
        acknowledgementWaiters = [:]
        for waiter in waiters.values { waiter.resume() }
    }
}
