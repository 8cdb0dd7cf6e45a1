import Persistence
import WireProtocol

extension Fleet {
    /// Sends a node every pending command it has not been sent on this connection, in id order.
    ///
    /// Calls coalesce per node, so commands reach a node in the order they were committed;
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
            let pending: [NodeCommandRow]
            do {
                pending = try await database.pendingCommands(nodeID: nodeID)
            } catch is CancellationError {
                return
            } catch {
                logger.error("could not read pending commands", metadata: ["node": "\(nodeID)", "error": "\(error)"])
                return
            }
            guard let current = links[nodeID], current.session === session else { return }
            var lastSent = current.lastSentCommandID
            for row in pending where (row.id ?? 0) > lastSent {
                guard let command = Self.command(from: row) else {
                    logger.error("dropping an undecodable command", metadata: ["command": "\(row.id ?? 0)"])
                    continue
                }
                session.send(command)
                lastSent = row.id ?? lastSent
            }
            links[nodeID]?.lastSentCommandID = lastSent
        } while links[nodeID]?.flushAgain == true
    }

    /// A node acknowledged a command.
    func commandAcknowledged(nodeID: String, ack: CommandAck) async {
        do {
            try await database.acknowledgeCommand(
                id: Int64(ack.commandID),
                nodeID: nodeID,
                now: BerthDatabase.nowMicros()
            )
            if !ack.accepted {
                logger.warning(
                    "node refused a command",
                    metadata: ["node": "\(nodeID)", "command": "\(ack.commandID)", "reason": "\(ack.message)"]
                )
            }
        } catch {
            logger.error("could not record a command ack", metadata: ["node": "\(nodeID)", "error": "\(error)"])
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
