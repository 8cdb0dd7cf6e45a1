/// A node's acknowledgement of a ``NodeCommand``: it was applied (or refused, with a reason).
///
/// The outcome of the work itself arrives later as ``InstanceEvent``s.
public struct CommandAck: WireMessage, Equatable {
    public static let messageType = MessageType.commandAck

    public var commandID: UInt64
    public var accepted: Bool
    public var message: String

    public init(commandID: UInt64, accepted: Bool = true, message: String = "") {
        self.commandID = commandID
        self.accepted = accepted
        self.message = message
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, commandID)
        w.write(2, accepted)
        w.write(3, message)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(commandID: 0, accepted: false)
        while let tag = try r.next() {
            switch tag.number {
            case 1: commandID = try r.uint64(tag)
            case 2: accepted = try r.bool(tag)
            case 3: message = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
