/// A command from the control plane to a node.
///
/// `commandID` increases per node and is persisted before the command is sent. The node
/// applies each id at most once and acknowledges it with ``CommandAck``; unacknowledged
/// commands are sent again after a reconnect, so each is applied exactly once.
public struct NodeCommand: WireMessage, Equatable {
    public static let messageType = MessageType.nodeCommand

    public enum Kind: UInt8, Sendable, CustomStringConvertible {
        case start = 1
        case stop = 2
        case terminate = 3
        case restart = 4
        /// Update the node agent (Anka `PUT /api/v1/node/update`); `instanceID` is empty.
        case updateAgent = 5

        public var description: String {
            switch self {
            case .start: "start"
            case .stop: "stop"
            case .terminate: "terminate"
            case .restart: "restart"
            case .updateAgent: "update_agent"
            }
        }
    }

    public var commandID: UInt64
    public var kind: Kind
    public var instanceID: String
    public var start: StartSpec?

    public init(commandID: UInt64, kind: Kind, instanceID: String, start: StartSpec? = nil) {
        self.commandID = commandID
        self.kind = kind
        self.instanceID = instanceID
        self.start = start
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, commandID)
        w.write(2, kind)
        w.write(3, instanceID)
        w.write(4, start)
    }

    public init(from r: inout PayloadReader) throws {
        var id: UInt64?
        var kind: Kind?
        var instanceID: String?
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.uint64(tag)
            case 2: kind = try r.enumeration(tag)
            case 3: instanceID = try r.string(tag)
            case 4: start = try r.message(tag)
            default: try r.skip(tag)
            }
        }
        self.commandID = try PayloadReader.require(id, "commandID", in: "NodeCommand")
        self.kind = try PayloadReader.require(kind, "kind", in: "NodeCommand")
        let kindValue = try PayloadReader.require(kind, "kind", in: "NodeCommand")
        self.instanceID =
            kindValue == .updateAgent
            ? (instanceID ?? "") : try PayloadReader.require(instanceID, "instanceID", in: "NodeCommand")
    }
}
