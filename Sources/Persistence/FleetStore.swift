/// A change to the fleet's stored state, as the fleet's journal writes it.
///
/// The fleet changes its state in memory first and journals these in the same step, so
/// their order in storage is the order of the changes in memory. A change never creates a
/// node: a node is created only by enrollment, so a late write about a node that was deleted
/// meanwhile changes nothing.
public enum StoredChange: Sendable, Equatable {
    /// A node's description and state, as the fleet holds it now (every column but the
    /// event key, which only ``BerthDatabase/applyTransition(_:)`` writes).
    case node(NodeRow)
    /// Heartbeat figures of connected nodes.
    case heartbeatFigures([HeartbeatFigures])
    /// The last instance event applied from a node (its idempotency key).
    case nodeEventKey(nodeID: String, epoch: Int64, sequence: Int64)
    /// An instance as the fleet holds it now: every column of an existing row. Instances
    /// are created by ``BerthDatabase/insertInstances(_:drawMACs:)``, never by this.
    case instance(InstanceRow)
    /// One step of an instance's state history.
    case transition(InstanceTransitionRow)
    /// The instance no longer holds its managed MAC address.
    case macReleased(instanceID: String)
    /// A command for a node's outbox, with the id and epoch the fleet gave it.
    case command(NodeCommandRow)
    /// The node acknowledged this command.
    case commandAcknowledged(id: Int64, nodeID: String, at: Int64)
    /// The node applied every command up to `through` (its hello says so).
    case commandsAcknowledged(nodeID: String, through: Int64, at: Int64)
    /// Terminated instances past their retention, with their history.
    case instancesPurged([String])
    /// The node holds these template versions: its unfinished pulls of them are done.
    case templatesHeld(nodeID: String, versions: [TemplateVersionKey])
    /// An environment as the fleet holds it now (an existing row).
    case environment(EnvironmentRow)
    /// An ended environment past its retention, its members purged before it.
    case environmentPurged(id: String)
    /// A node group as the fleet holds it now, created or changed.
    case group(NodeGroupRow)
    /// A group is gone: its memberships go with it, and groups falling back to it lose
    /// their fallback.
    case groupDeleted(id: String)
    /// Every one of these nodes joins (`member`) or leaves every one of these groups. A node
    /// or group deleted meanwhile is skipped.
    case membership(nodeIDs: [String], groupIDs: [String], member: Bool)
}

/// A template version by template id and tag.
public struct TemplateVersionKey: Sendable, Hashable {
    public var templateID: String
    public var tag: String

    public init(templateID: String, tag: String) {
        self.templateID = templateID
        self.tag = tag
    }
}

/// The storage the fleet core writes to: one batch of changes per transaction.
///
/// ``BerthDatabase`` (SQLite) is the embedded implementation; another engine implements
/// the same protocol (issue 15).
public protocol FleetStore: Sendable {
    /// Writes `changes` in order, in one transaction that is durable when this returns.
    func commit(_ changes: [StoredChange]) async throws

    /// Creates instances for several requests in one durable transaction, each request
    /// all or nothing on its own (see ``BerthDatabase/insertInstanceGroups(_:drawMACs:)``).
    func insertInstanceGroups(
        _ groups: [[InstanceRow]],
        drawMACs: Bool
    ) async throws -> [Result<[InstanceRow], PersistenceError>]
}

extension BerthDatabase: FleetStore {}
