import Persistence

/// The commands nodes have not acknowledged yet, held in memory, and the issuing of new ones.
///
/// Ids are issued here, in order, one above the highest this database ever issued, under
/// this control plane's epoch (docs/decisions.md, "Command epochs"). The fleet journals
/// each command as it is issued and sends it only once it is durable, so a node never
/// applies a command storage could lose.
struct CommandOutbox {
    /// A pending command and the journal ticket that makes it durable (`nil` when it was
    /// loaded from storage).
    struct Entry {
        var row: NodeCommandRow
        var ticket: FleetJournal.Ticket?
    }

    /// Pending commands by node, in id order.
    private(set) var pending: [String: [Entry]] = [:]
    /// Epochs in the order they began, with the first id each issued; the last is ours.
    private let epochs: [(epoch: Int64, firstID: Int64)]
    /// The highest id issued so far.
    private(set) var lastID: Int64

    /// The epoch new commands carry.
    var epoch: Int64 { epochs.last?.epoch ?? 0 }

    init(epochs: [(epoch: Int64, firstID: Int64)], lastID: Int64, pending rows: [NodeCommandRow]) {
        self.epochs = epochs
        self.lastID = lastID
        for row in rows { pending[row.nodeId, default: []].append(Entry(row: row, ticket: nil)) }
    }

    /// A new command with the next id; ``add(_:ticket:)`` puts it in the outbox.
    mutating func issue(nodeID: String, instanceID: String, kind: String, payload: [UInt8]?, now: Int64) -> NodeCommandRow {
        lastID += 1
        var row = NodeCommandRow(nodeId: nodeID, instanceId: instanceID, kind: kind, payload: payload, createdAt: now)
        row.id = lastID
        row.epoch = epoch
        return row
    }

    mutating func add(_ row: NodeCommandRow, ticket: FleetJournal.Ticket) {
        pending[row.nodeId, default: []].append(Entry(row: row, ticket: ticket))
    }

    /// A node's pending commands with ids above `id`, in order.
    func unsent(nodeID: String, after id: Int64) -> ArraySlice<Entry> {
        guard let entries = pending[nodeID] else { return [] }
        let start = entries.firstIndex { ($0.row.id ?? 0) > id } ?? entries.endIndex
        return entries[start...]
    }

    /// Instances with a start command pending on `nodeID`.
    func pendingStarts(nodeID: String) -> Set<String> {
        Set((pending[nodeID] ?? []).filter { $0.row.kind == "start" }.map(\.row.instanceId))
    }

    /// Removes one command; `false` if it was not pending (a duplicate ack).
    mutating func acknowledge(id: Int64, nodeID: String) -> Bool {
        guard let index = pending[nodeID]?.firstIndex(where: { $0.row.id == id }) else { return false }
        pending[nodeID]?.remove(at: index)
        if pending[nodeID]?.isEmpty == true { pending.removeValue(forKey: nodeID) }
        return true
    }

    /// Removes a node's commands up to `id`.
    mutating func acknowledge(through id: Int64, nodeID: String) {
        pending[nodeID]?.removeAll { ($0.row.id ?? 0) <= id }
        if pending[nodeID]?.isEmpty == true { pending.removeValue(forKey: nodeID) }
    }

    /// Forgets a deleted node's commands.
    mutating func drop(nodeID: String) {
        pending.removeValue(forKey: nodeID)
    }

    /// How far a node's "applied through command `id` of `epoch`" agrees with this
    /// database's history: ids grow across epochs, so everything up to the node's mark was
    /// issued before it, as far as the node's epoch issued ids here. An epoch this database
    /// never began counts for nothing. `diverged` says the node is beyond this history (a
    /// restored backup).
    func agreed(epoch: Int64, id: Int64) -> (through: Int64, diverged: Bool) {
        guard id > 0 else { return (0, false) }
        guard let index = epochs.firstIndex(where: { $0.epoch == epoch }) else { return (0, true) }
        let issuedThrough = index + 1 < epochs.count ? epochs[index + 1].firstID - 1 : lastID
        return (min(id, issuedThrough), id > issuedThrough)
    }
}
