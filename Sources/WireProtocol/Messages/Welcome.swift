/// The server's answer to ``Hello``: the negotiated version and the session's parameters.
public struct Welcome: WireMessage, Equatable {
    public static let messageType = MessageType.welcome

    public var version: UInt32
    public var capabilities: [String]
    /// How often the peer must send a heartbeat (nodes) or ping (gateways), in milliseconds.
    public var heartbeatIntervalMillis: UInt64
    /// The id the server knows this peer by (node id, or gateway name).
    public var peerID: String
    public var serverTimeMicros: Int
    /// The server pings after this much silence; 0 from servers older than the field.
    public var pingIntervalMillis: UInt64 = 0
    /// Ping intervals of silence after which the client should treat the connection as
    /// dead and reconnect; 0 when the server does not say.
    public var deadAfterPings: UInt64 = 0

    public init(
        version: UInt32,
        capabilities: [String] = [],
        heartbeatIntervalMillis: UInt64,
        peerID: String,
        serverTimeMicros: Int = 0
    ) {
        self.version = version
        self.capabilities = capabilities
        self.heartbeatIntervalMillis = heartbeatIntervalMillis
        self.peerID = peerID
        self.serverTimeMicros = serverTimeMicros
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, UInt64(version))
        w.write(2, capabilities)
        w.write(3, heartbeatIntervalMillis)
        w.write(4, peerID)
        w.write(5, serverTimeMicros)
        if pingIntervalMillis > 0 { w.write(6, pingIntervalMillis) }
        if deadAfterPings > 0 { w.write(7, deadAfterPings) }
    }

    public init(from r: inout PayloadReader) throws {
        self.init(version: 0, heartbeatIntervalMillis: 0, peerID: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: version = try r.uint32(tag)
            case 2: capabilities.append(try r.string(tag))
            case 3: heartbeatIntervalMillis = try r.uint64(tag)
            case 4: peerID = try r.string(tag)
            case 5: serverTimeMicros = try r.int(tag)
            case 6: pingIntervalMillis = try r.uint64(tag)
            case 7: deadAfterPings = try r.uint64(tag)
            default: try r.skip(tag)
            }
        }
    }
}
