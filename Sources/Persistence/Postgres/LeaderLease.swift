import Logging
import PostgresNIO

/// The one leader among control-plane replicas on one PostgreSQL database: a lease in the
/// table `leader_lease`, with a fencing epoch.
///
/// - Every time is the database's (`now()`), so replicas' clocks never matter.
/// - Taking the lease over (it expired, or was released) adds one to the epoch. The
///   holder renews it for the same epoch, so a leader that paused and nobody replaced goes
///   on as it was.
/// - Every write transaction of a leader first locks the lease row for share and checks
///   that its epoch is still the current one (``fence(_:epoch:logger:)``). A takeover
///   updates that row, so it waits for writes in flight, and any write after it finds the
///   new epoch and is refused. A deposed leader that wakes up late cannot write.
public struct LeaderLease: Sendable {
    /// Who holds the lease, as the table says.
    public struct Holder: Sendable, Equatable {
        /// The replica's id, unique per process run.
        public var id: String
        /// Where nodes and gateways reach it (`host:port`).
        public var address: String
        public var epoch: Int64
        /// Seconds until it expires, by the database's clock (negative once expired).
        public var expiresIn: Double
    }

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates the table and its one row if they are missing.
    public func prepare() async throws {
        try await client.query(
            """
            CREATE TABLE IF NOT EXISTS leader_lease (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                holder TEXT NOT NULL,
                address TEXT NOT NULL,
                epoch BIGINT NOT NULL,
                expires_at TIMESTAMPTZ NOT NULL
            )
            """,
            logger: logger
        )
        try await client.query(
            "INSERT INTO leader_lease VALUES (1, '', '', 0, 'epoch') ON CONFLICT (id) DO NOTHING",
            logger: logger
        )
    }

    /// Takes the lease for `ttl` seconds if it is free or expired; returns the new epoch, or
    /// `nil` while another replica holds it.
    public func acquire(holder: String, address: String, ttl: Double) async throws -> Int64? {
        let rows = try await client.query(
            """
            UPDATE leader_lease SET holder = \(holder), address = \(address), epoch = epoch + 1,
                expires_at = now() + make_interval(secs => \(ttl))
            WHERE id = 1 AND expires_at <= now() RETURNING epoch
            """,
            logger: logger
        )
        for try await epoch in rows.decode(Int64.self) { return epoch }
        return nil
    }

    /// Extends the lease by `ttl` seconds from now, if `epoch` is still the current one.
    /// Returns false once another replica took over: the caller leads no more.
    public func renew(holder: String, epoch: Int64, ttl: Double) async throws -> Bool {
        let rows = try await client.query(
            """
            UPDATE leader_lease SET expires_at = now() + make_interval(secs => \(ttl))
            WHERE id = 1 AND holder = \(holder) AND epoch = \(epoch) RETURNING epoch
            """,
            logger: logger
        )
        for try await _ in rows.decode(Int64.self) { return true }
        return false
    }

    /// Ends the lease at once (a clean shutdown), so that a follower takes over without
    /// waiting for it to expire. Does nothing if another replica took over meanwhile.
    public func release(holder: String, epoch: Int64) async throws {
        try await client.query(
            "UPDATE leader_lease SET expires_at = now() WHERE id = 1 AND holder = \(holder) AND epoch = \(epoch)",
            logger: logger
        )
    }

    /// The current holder, or `nil` if the lease was never taken.
    public func current() async throws -> Holder? {
        let rows = try await client.query(
            """
            SELECT holder, address, epoch, EXTRACT(EPOCH FROM (expires_at - now()))::float8
            FROM leader_lease WHERE id = 1 AND holder <> ''
            """,
            logger: logger
        )
        for try await (id, address, epoch, expiresIn) in rows.decode((String, String, Int64, Double).self) {
            return Holder(id: id, address: address, epoch: epoch, expiresIn: expiresIn)
        }
        return nil
    }

    /// The fencing check every leader write starts with: it locks the lease row for share
    /// (a takeover's `UPDATE` waits for the write) and reads the current epoch.
    static let fenceSQL = "SELECT epoch FROM leader_lease WHERE id = 1 FOR SHARE"

    /// Throws ``PersistenceError/Code/fenced`` unless `current` (read by ``fenceSQL``) is `epoch`.
    static func check(epoch: Int64, current: Int64?) throws {
        guard current == epoch else {
            throw PersistenceError(
                .fenced,
                "this control plane's lease (epoch \(epoch)) was taken over (epoch \(current.map(String.init) ?? "none"))"
            )
        }
    }

    /// Inside a write transaction on `connection`: locks the lease row for share and throws
    /// ``PersistenceError/Code/fenced`` unless `epoch` is still the current one.
    public static func fence(_ connection: PostgresConnection, epoch: Int64, logger: Logger) async throws {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: fenceSQL), logger: logger)
        var current: Int64?
        for try await value in rows.decode(Int64.self) { current = value }
        try check(epoch: epoch, current: current)
    }
}
