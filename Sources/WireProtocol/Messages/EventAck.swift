/// The control plane's acknowledgement that an ``InstanceEvent`` is persisted.
public struct EventAck: WireMessage, Equatable {
    public static let messageType = MessageType.eventAck
    public var epoch: UInt64
    public var sequence: UInt64

    public init(epoch: UInt64, sequence: UInt64) {
        self.epoch = epoch
        self.sequence = sequence
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, epoch)
        w.write(2, sequence)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(epoch: 0, sequence: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: epoch = try r.uint64(tag)
            case 2: sequence = try r.uint64(tag)
            default: try r.skip(tag)
            }
        }
    }
}
