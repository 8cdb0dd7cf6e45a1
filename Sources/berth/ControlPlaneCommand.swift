import ArgumentParser
import ControlPlane
import Foundation
import Logging
import Persistence
import TLSTransport

/// `berth controlplane`: the process that owns state.
struct ControlPlaneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controlplane",
        abstract: "Run the control plane (nodes and gateways connect to it over mTLS)."
    )

    @Option(help: "Data directory (create it with `berth ca init`).")
    var dataDir: String

    @OptionGroup var database: DatabaseOption

    @Option(help: "Listen address.")
    var host = "127.0.0.1"

    @Option(help: "TLS port.")
    var port = 7420

    @Option(help: "Heartbeat interval in seconds, told to nodes.")
    var heartbeatInterval = 5.0

    @Option(
        help:
            "Seconds of silence (no frame of any kind) before a node is Offline; a node that reconnects sooner never is."
    )
    var offlineTimeout = 15.0

    @Option(help: "Seconds of silence after which a peer is pinged; nodes drop a connection silent for 5 of these.")
    var pingInterval = 1.0

    @Option(
        help:
            "Pings a second at most for idle nodes; a larger fleet is pinged less often, down to once a heartbeat (0: always --ping-interval)."
    )
    var pingBudget = 2000.0

    @Option(help: "Seconds Terminated instances stay listed.")
    var terminatedRetention = 3600.0

    @Option(help: "Seconds a restart policy waits before its first restart of an instance; doubled for each further one.")
    var restartBackoff = 1.0

    @Option(help: "Seconds a restart policy waits at most between restarts.")
    var restartBackoffMaximum = 300.0

    @Flag(help: "Check each caller's controller permissions (permission groups).")
    var authorization = false

    @Flag(help: "Also check resource permissions on nodes and templates; implies --authorization.")
    var resourceManagement = false

    @Option(help: "Managed MAC address pool, FIRST-LAST, e.g. 00:1C:42:00:00:00-00:1C:42:00:FF:FF.")
    var macRange: String?

    @Option(help: "URL that receives the event log as JSON POSTs (in order, retried until accepted).")
    var eventWebhook: String?

    @Option(help: "Secret that signs each webhook body (X-Berth-Signature: sha256=HMAC); or BERTH_EVENT_WEBHOOK_SECRET.")
    var eventWebhookSecret: String?

    @Option(help: "File holding the webhook signing secret.")
    var eventWebhookSecretFile: String?

    @Option(help: "Seconds from accept to a finished TLS handshake before a connection is closed.")
    var handshakeTimeout = 10.0

    @Option(help: "Seconds from the handshake to the first frame (hello or enrollment) before a connection is closed.")
    var firstFrameTimeout = 10.0

    @Option(help: "Connections not yet authenticated, at once, from all sources (past it the oldest is closed).")
    var maxUnauthenticated = 1024

    @Option(help: "Connections not yet authenticated, at once, from one source address.")
    var maxUnauthenticatedPerSource = 64

    @Option(help: "TLS handshakes in progress at once; past it new connections wait in the accept queue.")
    var maxHandshakes = 512

    @Option(help: "Serve Prometheus metrics at http://<metrics-address>:<port>/metrics (0 picks a free port); off when unset.")
    var metricsPort: Int?

    @Option(help: "Address of the metrics listener; keep it on loopback or a monitoring network.")
    var metricsAddress = "127.0.0.1"

    @Option(help: "Days a node certificate is valid, at enrollment and at each renewal (at about two thirds of it).")
    var nodeCertificateDays = 90.0

    @Option(help: "Days a gateway certificate renewed over its connection is valid.")
    var gatewayCertificateDays = 365.0

    @Option(
        help: """
            With --database postgres://…: where nodes and gateways reach this replica, host:port \
            (written into the leader lease; followers send them there). Defaults to --host:--port \
            unless --host is a wildcard.
            """
    )
    var advertise: HostPort?

    @Option(
        help: """
            With --database postgres://…: seconds a leader lease lasts unrenewed, which bounds \
            how long replicas wait for a dead leader's lease (renewed and retried every fifth of it).
            """
    )
    var leaseSeconds = 5.0

    @Option(help: "Log level.")
    var logLevel = "info"

    @OptionGroup var logFormatOption: LogFormatOption

    @OptionGroup var configFile: ConfigFileOption

    func run() async throws {
        LogSetup.bootstrap(Logger.Level(rawValue: logLevel) ?? .info, format: logFormatOption.logFormat)
        // Every session holds a descriptor: take the hard limit, not the default 1,024.
        ProcessLimits.raiseOpenFileLimit()
        let directory = DataDirectory(URL(directoryPath: dataDir))
        guard directory.isInitialized else {
            throw CommandFailure("\(directory.url.path) has no CA; run `berth ca init --data-dir \(dataDir)` first")
        }
        guard pingInterval > 0, offlineTimeout > pingInterval * 5 else {
            throw ValidationError(
                "--offline-timeout must exceed 5 × --ping-interval (the time a node takes to judge its connection dead)"
            )
        }
        var configuration = ControlPlaneConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.heartbeatInterval = heartbeatInterval
        configuration.offlineTimeout = offlineTimeout
        configuration.pingInterval = pingInterval
        configuration.pingBudget = pingBudget
        configuration.terminatedRetention = terminatedRetention
        guard restartBackoff > 0, restartBackoffMaximum >= restartBackoff else {
            throw ValidationError("--restart-backoff must be positive and at most --restart-backoff-maximum")
        }
        configuration.restartBackoff = restartBackoff
        configuration.restartBackoffMaximum = restartBackoffMaximum
        configuration.handshakeTimeout = handshakeTimeout
        configuration.firstFrameTimeout = firstFrameTimeout
        configuration.maxUnauthenticatedConnections = maxUnauthenticated
        configuration.maxUnauthenticatedPerSource = maxUnauthenticatedPerSource
        configuration.maxHandshakes = maxHandshakes
        guard nodeCertificateDays > 0, gatewayCertificateDays > 0 else {
            throw ValidationError("certificate lifetimes must be positive")
        }
        configuration.nodeCertificateValidity = nodeCertificateDays * 86_400
        configuration.gatewayCertificateValidity = gatewayCertificateDays * 86_400
        configuration.authorization = authorization || resourceManagement
        configuration.resourceManagement = resourceManagement
        if let macRange { configuration.macRange = try MACRange.parse(macRange) }
        if let eventWebhook {
            guard let url = URL(string: eventWebhook), url.scheme == "http" || url.scheme == "https" else {
                throw CommandFailure("--event-webhook must be an http(s) URL")
            }
            configuration.eventWebhook = url
            if let secret = try SecretFile.resolve(
                eventWebhookSecret,
                file: eventWebhookSecretFile,
                option: "event-webhook-secret"
            ) {
                configuration.eventWebhookSecret = Array(secret.utf8)
            }
        }
        // The registry's chunk files are in the data directory, whichever engine holds the state.
        configuration.contentDirectory = directory.chunksDirectory
        let opened = try await database.open(directory)
        let authority = try await database.authority(directory, database: opened)
        let serverIdentity = try directory.loadServerIdentity()
        if !opened.isSQLite {
            try await runReplica(configuration, database: opened, authority: authority, serverIdentity: serverIdentity)
            return
        }
        let controlPlane = try await ControlPlane(
            configuration: configuration,
            database: opened,
            authority: authority,
            serverIdentity: serverIdentity
        )
        let metrics = metricsPort.map {
            MetricsEndpoint(controlPlane: controlPlane, host: metricsAddress, port: $0, logger: Logger(label: "berth.metrics"))
        }
        try await serve(label: "berth.controlplane", metrics: metrics) { try await controlPlane.run() }
    }

    /// On PostgreSQL: one replica among any number on the same database (docs/ha.md). It
    /// follows until it takes the leader lease, then leads.
    private func runReplica(
        _ configuration: ControlPlaneConfiguration,
        database: BerthDatabase,
        authority: CertificateAuthority,
        serverIdentity: TLSIdentity
    ) async throws {
        let wildcard = ["0.0.0.0", "::", "[::]", ""].contains(host)
        guard let address = advertise.map({ "\(ControlPlaneAddress(host: $0.host, port: $0.port))" })
            ?? (wildcard ? nil : "\(ControlPlaneAddress(host: host, port: port))")
        else {
            throw ValidationError("--host \(host) is a wildcard: give --advertise host:port, where nodes and gateways reach this replica")
        }
        guard port != 0 else { throw ValidationError("replicas need a fixed --port: they follow and lead on the same one") }
        guard leaseSeconds >= 1 else { throw ValidationError("--lease-seconds must be at least 1") }
        var timing = ControlPlaneReplica.Timing()
        timing.lease = leaseSeconds
        timing.renew = leaseSeconds / 5
        timing.retry = leaseSeconds / 5
        let replica = try ControlPlaneReplica(
            configuration: configuration,
            database: database,
            authority: authority,
            serverIdentity: serverIdentity,
            advertisedAddress: address,
            timing: timing
        )
        let metrics = metricsPort.map {
            MetricsEndpoint(host: metricsAddress, port: $0, logger: Logger(label: "berth.metrics")) {
                await replica.scrapeMetrics()
            }
        }
        try await serve(label: "berth.controlplane", metrics: metrics) { try await replica.run() }
    }

    /// Runs `service` and the metrics listener until either ends.
    private func serve(
        label: String,
        metrics: MetricsEndpoint?,
        _ service: @escaping @Sendable () async throws -> Void
    ) async throws {
        try await RunService.run(label: label) {
            // Both as children: whichever ends first (the control plane shutting down, or the
            // metrics listener failing to bind) ends the other, and its error ends the process.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service() }
                if let metrics {
                    group.addTask {
                        try await metrics.run { port in
                            Logger(label: "berth.metrics").info(
                                "metrics listening",
                                metadata: ["url": "http://\(metrics.host):\(port)/metrics"]
                            )
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }
}
