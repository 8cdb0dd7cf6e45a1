import GRDB

/// A row of `environments`: several instances started, watched and destroyed as one unit,
/// with an owner and a lifetime (Berth's extension; docs/extensions.md). The members are
/// the instances whose `env_id` is this id.
public struct EnvironmentRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "environments"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: String
    public var owner: String
    /// Who created it, as the event log names callers.
    public var createdBy: String
    /// SSH public keys given to every member, one per line.
    public var sshKeys: String
    /// `creating`, `running`, `stopped`, `failed`, `expired` or `destroyed`.
    public var state: String
    public var message: String = ""
    /// The lifetime asked for last (at create or extend), in seconds.
    public var lifetimeSeconds: Int64
    /// When it expires, in microseconds since the Unix epoch: stored, so expiry does not
    /// depend on a timer that a restart would lose.
    public var expiresAt: Int64
    /// How long a create waits for every member to start, in seconds.
    public var placementTimeoutSeconds: Int64
    public var createdAt: Int64
    /// When it ended (failed, expired or destroyed); 0 while it lives.
    public var endedAt: Int64 = 0

    public init(
        id: String,
        owner: String,
        createdBy: String,
        sshKeys: String,
        state: String,
        lifetimeSeconds: Int64,
        expiresAt: Int64,
        placementTimeoutSeconds: Int64,
        createdAt: Int64
    ) {
        self.id = id
        self.owner = owner
        self.createdBy = createdBy
        self.sshKeys = sshKeys
        self.state = state
        self.lifetimeSeconds = lifetimeSeconds
        self.expiresAt = expiresAt
        self.placementTimeoutSeconds = placementTimeoutSeconds
        self.createdAt = createdAt
    }

    /// Whether it still lives (its members are meant to run).
    public var isLive: Bool { state == "creating" || state == "running" || state == "stopped" }
}

extension EnvironmentRow: SQLRecord {
    public static var tableName: String { databaseTableName }
}
