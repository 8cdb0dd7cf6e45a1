/// A state change of one instance, reported by the node that runs it.
///
/// `(epoch, sequence)` is the idempotency key: the node keeps unacknowledged events and
/// resends them after a reconnect; the control plane applies each key once and answers
/// with ``EventAck``. `epoch` changes when the agent process restarts.
public struct InstanceEvent: WireMessage, Equatable {
    public static let messageType = MessageType.instanceEvent

    public var epoch: UInt64
    public var sequence: UInt64
    public var status: InstanceStatus
    public var timestampMicros: Int

    public init(epoch: UInt64, sequence: UInt64, status: InstanceStatus, timestampMicros: Int) {
        self.epoch = epoch
        self.sequence = sequence
        self.status = status
        self.timestampMicros = timestampMicros
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, epoch)
        w.write(2, sequence)
        w.write(3, status)
        w.write(4, timestampMicros)
    }

    public init(from r: inout PayloadReader) throws {
        var epoch: UInt64 = 0
        var sequence: UInt64 = 0
        var status: InstanceStatus?
        var ts = 0
        while let tag = try r.next() {
            switch tag.number {
            case 1: epoch = try r.uint64(tag)
            case 2: sequence = try r.uint64(tag)
            case 3: status = try r.message(tag)
            case 4: ts = try r.int(tag)
            default: try r.skip(tag)
            }
        }
        self.init(
            epoch: epoch,
            sequence: sequence,
            status: try PayloadReader.require(status, "status", in: "InstanceEvent"),
            timestampMicros: ts
        )
    }
}
