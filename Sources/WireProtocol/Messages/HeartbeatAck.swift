/// The control plane's answer to a ``Heartbeat``.
public struct HeartbeatAck: WireMessage, Equatable {
    public static let messageType = MessageType.heartbeatAck
    public var sequence: UInt64
    public var serverTimeMicros: Int

    public init(sequence: UInt64, serverTimeMicros: Int = 0) {
        self.sequence = sequence
        self.serverTimeMicros = serverTimeMicros
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, sequence)
        w.write(2, serverTimeMicros)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(sequence: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: sequence = try r.uint64(tag)
            case 2: serverTimeMicros = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
