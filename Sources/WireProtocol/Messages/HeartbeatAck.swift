/// The control plane's answer to a ``Heartbeat``.
public struct HeartbeatAck: WireMessage, Equatable {
    public static let messageType = MessageType.heartbeatAck
    public var sequence: UInt64
    public var serverTimeMicros: Int
    /// The ping interval the control plane wants now (as ``Welcome/pingIntervalMillis``,
    /// which it replaces); 0 when unchanged or not sent. It grows with the fleet.
    public var pingIntervalMillis: UInt64
    /// Ping intervals of silence after which the node drops the connection, to go with
    /// ``pingIntervalMillis``; 0 when not sent.
    public var deadAfterPings: UInt64

    public init(sequence: UInt64, serverTimeMicros: Int = 0, pingIntervalMillis: UInt64 = 0, deadAfterPings: UInt64 = 0)
    {
        self.sequence = sequence
        self.serverTimeMicros = serverTimeMicros
        self.pingIntervalMillis = pingIntervalMillis
        self.deadAfterPings = deadAfterPings
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, sequence)
        w.write(2, serverTimeMicros)
        w.write(3, pingIntervalMillis)
        w.write(4, deadAfterPings)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(sequence: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: sequence = try r.uint64(tag)
            case 2: serverTimeMicros = try r.int(tag)
            case 3: pingIntervalMillis = try r.uint64(tag)
            case 4: deadAfterPings = try r.uint64(tag)
            default: try r.skip(tag)
            }
        }
    }
}
