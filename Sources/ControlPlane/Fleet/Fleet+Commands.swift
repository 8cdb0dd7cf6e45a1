import Persistence
import WireProtocol

extension Fleet {
    /// Sends a node every pending command it has not been sent on this connection, in id
    /// order, once the commands are durable.
    ///
    /// Calls coalesce per node, so commands reach a node in the order they were issued;
    /// the node applies each id once and skips ids it has already applied.
    func flushCommands(nodeID: String) async {
        guard let link = links[nodeID], link.ready else { return }
        if link.flushing {
            links[nodeID]?.flushAgain = true
            return
        }
        let session = link.session
        links[nodeID]?.flushing = true
        defer { if links[nodeID]?.session === session { links[nodeID]?.flushing = false } }
        repeat {
            links[nodeID]?.flushAgain = false
            guard let current = links[nodeID], current.session === session else { return }
            let unsent = Array(outbox.unsent(nodeID: nodeID, after: current.lastSentCommandID))
            guard !unsent.isEmpty else { break }
            // Never a command storage could still lose (the journal retries a failed commit).
            if let ticket = unsent.last(where: { $0.ticket != nil })?.ticket { await journal.committed(ticket) }
            guard let now = links[nodeID], now.session === session else { return }
            var lastSent = now.lastSentCommandID
            for entry in unsent where (entry.row.id ?? 0) > lastSent {
                guard let command = Self.command(from: entry.row) else {
                    logger.error("dropping an undecodable command", metadata: ["command": "\(entry.row.id ?? 0)"])
                    continue
                }
                session.send(command)
                lastSent = entry.row.id ?? lastSent
            }
            links[nodeID]?.lastSentCommandID = lastSent
        } while links[nodeID]?.flushAgain == true
    }

    /// A node acknowledged a command.
    func commandAcknowledged(nodeID: String, ack: CommandAck) {
        if outbox.acknowledge(id: Int64(ack.commandID), nodeID: nodeID) {
            journal.append(
                .commandAcknowledged(id: Int64(ack.commandID), nodeID: nodeID, at: BerthDatabase.nowMicros())
            )
        }
        if !ack.accepted {
            logger.warning(
                "node refused a command",
                metadata: ["node": "\(nodeID)", "command": "\(ack.commandID)", "reason": "\(ack.message)"]
            )
        }
    }

    static func command(from row: NodeCommandRow) -> NodeCommand? {
        guard let id = row.id else { return nil }
        let kind: NodeCommand.Kind
        switch row.kind {
        case "start": kind = .start
        case "stop": kind = .stop
        case "terminate": kind = .terminate
        case "restart": kind = .restart
        case "update_agent": kind = .updateAgent
        case "pull_template": kind = .pullTemplate
        case "cancel_pull": kind = .cancelPull
        case "remove_template": kind = .removeTemplate
        case "save_image": kind = .saveImage
        default: return nil
        }
        var command = NodeCommand(commandID: UInt64(id), kind: kind, instanceID: row.instanceId)
        command.epoch = UInt64(bitPattern: row.epoch)
        switch kind {
        case .start:
            guard let payload = row.payload, let decoded = try? StartSpec(bytes: payload) else { return nil }
            command.start = decoded
        case .pullTemplate, .cancelPull, .removeTemplate:
            guard let payload = row.payload, let decoded = try? TemplateCommand(bytes: payload) else { return nil }
            command.template = decoded
        case .saveImage:
            guard let payload = row.payload, let decoded = try? SaveImageSpec(bytes: payload) else { return nil }
            command.saveImage = decoded
        default:
            break
        }
        return command
    }
}
