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

    let engine: PostgresEngine

    /// A lease on `engine`'s database. Its statements run on a connection of the engine's
    /// own (``PostgresEngine/leaseTransaction(_:)``), never fenced and never queued behind
    /// writes, and follow the engine to a promoted standby.
    public init(engine: PostgresEngine) {
        self.engine = engine
    }

    /// Creates the table and its one row if they are missing.
    public func prepare() async throws {
        try await engine.leaseTransaction { db in
            try db.execute(
                """
                CREATE TABLE IF NOT EXISTS leader_lease (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    holder TEXT NOT NULL,
                    address TEXT NOT NULL,
                    epoch BIGINT NOT NULL,
                    expires_at TIMESTAMPTZ NOT NULL
                )
                """,
                []
            )
            try db.execute("INSERT INTO leader_lease VALUES (1, '', '', 0, 'epoch') ON CONFLICT (id) DO NOTHING", [])
        }
    }

    /// Takes the lease for `ttl` seconds if it is free or expired; returns the new epoch, or
    /// `nil` while another replica holds it.
    public func acquire(holder: String, address: String, ttl: Double) async throws -> Int64? {
        try await engine.leaseTransaction { db in
            try db.row(
                """
                UPDATE leader_lease SET holder = ?, address = ?, epoch = epoch + 1,
                    expires_at = now() + make_interval(secs => ?)
                WHERE id = 1 AND expires_at <= now() RETURNING epoch
                """,
                [.text(holder), .text(address), .real(ttl)]
            )?["epoch"].int64
        }
    }

    /// Extends the lease by `ttl` seconds from now, if `epoch` is still the current one.
    /// Returns false once another replica took over: the caller leads no more.
    public func renew(holder: String, epoch: Int64, ttl: Double) async throws -> Bool {
        try await engine.leaseTransaction { db in
            try db.exists(
                """
                UPDATE leader_lease SET expires_at = now() + make_interval(secs => ?)
                WHERE id = 1 AND holder = ? AND epoch = ? RETURNING epoch
                """,
                [.real(ttl), .text(holder), .integer(epoch)]
            )
        }
    }

    /// Ends the lease at once (a clean shutdown), so that a follower takes over without
    /// waiting for it to expire. Does nothing if another replica took over meanwhile.
    public func release(holder: String, epoch: Int64) async throws {
        try await engine.leaseTransaction { db in
            try db.execute(
                "UPDATE leader_lease SET expires_at = now() WHERE id = 1 AND holder = ? AND epoch = ?",
                [.text(holder), .integer(epoch)]
            )
        }
    }

    /// The current holder, or `nil` if the lease was never taken.
    public func current() async throws -> Holder? {
        try await engine.leaseTransaction { db in
            try db.row(
                """
                SELECT holder, address, epoch, EXTRACT(EPOCH FROM (expires_at - now()))::float8 AS expires_in
                FROM leader_lease WHERE id = 1 AND holder <> ''
                """
            ).map { row in
                Holder(
                    id: row["holder"].string ?? "",
                    address: row["address"].string ?? "",
                    epoch: row["epoch"].int64 ?? 0,
                    expiresIn: row["expires_in"].double ?? 0
                )
            }
        }
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
