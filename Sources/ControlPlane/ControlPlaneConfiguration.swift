import Foundation
import TLSTransport

/// Settings of a control plane. Every duration is in seconds.
public struct ControlPlaneConfiguration: Sendable {
    /// Address to listen on for nodes and gateways (loopback by default).
    public var host: String = "127.0.0.1"
    /// TLS port; 0 picks a free one (tests).
    public var port: Int = 7420
    /// How often nodes send heartbeats and gateways ping.
    public var heartbeatInterval: Double = 5
    /// How often the fleet is sampled for the dashboard's charts (an hour of samples is kept).
    public var historyInterval: Double = 10
    /// A node the control plane has heard nothing from for this long is `Offline`, and its
    /// connection is closed. Silence is measured from the last frame of any kind, and a node
    /// whose connection drops stays what it was while it reconnects within this time: a
    /// partition shorter than the timeout causes no Offline episode.
    public var offlineTimeout: Double = 15
    /// After this much silence from an authenticated peer the control plane pings it, so the
    /// silence before a network cut is known to about this resolution (not to a heartbeat
    /// interval). Sent in the welcome; nodes ping at the same rate and count their
    /// connection dead after ``nodeDeadAfterPings`` intervals of silence.
    public var pingInterval: Double = 1
    /// Pings a second the control plane spends at most on idle nodes: past
    /// `pingInterval × pingBudget` connected nodes the interval grows with the fleet, up to
    /// ``heartbeatInterval`` (`PingSchedule`). 0 keeps `pingInterval` at any size.
    public var pingBudget: Double = 2_000
    /// Ping intervals of silence after which a node drops its connection and reconnects.
    public var nodeDeadAfterPings: Int = 5
    /// A restart policy's first wait before it starts an ended VM again; each further
    /// restart of the instance waits twice as long, up to ``restartBackoffMaximum``.
    public var restartBackoff: Double = 1
    public var restartBackoffMaximum: Double = 300
    /// How long `Terminated` instances stay visible before they are purged.
    public var terminatedRetention: Double = 3600
    /// How often the database is read for certificates revoked by another process
    /// (`berth ca revoke`); a revoked peer is disconnected within about this time.
    public var revocationPollInterval: Double = 2
    /// Lifetime of node certificates issued at enrollment.
    public var nodeCertificateValidity: Double = 90 * 86_400
    /// Lifetime of the certificate a node or gateway gets when it renews over its connection
    /// (at about two thirds of the old one's); nodes get ``nodeCertificateValidity``.
    public var gatewayCertificateValidity: Double = 365 * 86_400
    /// A connection's TLS handshake must finish within this many seconds of accept.
    public var handshakeTimeout: Double = 10
    /// A connection's first frame (hello or enrollment) must arrive this soon after its handshake.
    public var firstFrameTimeout: Double = 10
    /// Connections not yet authenticated, held at once from all sources; past it the oldest
    /// is closed to make room (see `ConnectionAdmission`).
    public var maxUnauthenticatedConnections: Int = 1024
    /// Connections not yet authenticated, held at once from one source address.
    public var maxUnauthenticatedPerSource: Int = 64
    /// Connections on their way in at once (TLS handshake, then hello). At this many the
    /// listener stops accepting and further connections wait in the kernel's accept queue,
    /// in order, so a fleet that reconnects at once is served at full speed instead of all
    /// its handshakes timing out.
    public var maxHandshakes: Int = 512
    /// While the handshake gate is full, a handshake in progress this long is closed to
    /// make room (idle connections cannot hold the gate shut).
    public var handshakeStallAge: Double = 2
    /// Largest frame payload accepted, checked from the header.
    public var maxFramePayload: Int = 4 * 1024 * 1024
    /// VM access tunnels open at once to one node's instances.
    public var maxTunnelsPerNode = 64
    /// VM access tunnels open at once to one instance.
    public var maxTunnelsPerInstance = 16
    /// How long a TAP secret from `/tap/v1/hand` can be traded at `/tap/v1/shake`.
    public var tapSecretTTL: Double = 180
    /// Absolute lifetime of a TAP session.
    public var tapSessionTTL: Double = 300
    /// Check controller permissions on every call (root and unauthenticated dev setups pass).
    public var authorization: Bool = false
    /// Also check resource permissions on nodes and templates; needs ``authorization``.
    /// Starts then name a permission group (`group`) and node groups (`group_id`) are disabled.
    public var resourceManagement: Bool = false
    /// Where the event log is pushed as JSON (POST), in order, with retries; `nil` for nowhere.
    public var eventWebhook: URL?
    /// Signs each webhook body: `X-Berth-Signature: sha256=<hex HMAC-SHA256 of the body>`.
    /// Unsigned when `nil`.
    public var eventWebhookSecret: [UInt8]?
    /// How long events stay in the log, in seconds.
    public var eventRetention: Double = 14 * 86_400
    /// The managed MAC address pool's range (Anka's ANKA_MANAGE_MAC_ADDRESSES); `nil` turns
    /// management off, and a start's `mac_address` is then passed through as given.
    public var macRange: ClosedRange<UInt64>?
    /// Where template chunks are stored; `chunks/` beside the database file when `nil`.
    public var contentDirectory: URL?
    /// Version reported by `/api/v1/status`.
    public var version: String = BerthVersion.current

    public init() {}

    /// The listener's caps and deadlines for connections that have not authenticated.
    var admissionLimits: ConnectionAdmission.Limits {
        .init(
            total: maxUnauthenticatedConnections,
            perSource: maxUnauthenticatedPerSource,
            handshakeTimeout: .milliseconds(Int64(handshakeTimeout * 1000)),
            firstFrameTimeout: .milliseconds(Int64(firstFrameTimeout * 1000)),
            handshakes: maxHandshakes,
            stallAge: .milliseconds(Int64(handshakeStallAge * 1000))
        )
    }
}

/// The version of this build.
public enum BerthVersion {
    public static let current = "0.1.0"
}
