/// Application-level liveness probe; the receiver answers with ``Pong`` echoing `nonce`.
public struct Ping: WireMessage, Equatable {
    public static let messageType = MessageType.ping
    public var nonce: UInt64

    public init(nonce: UInt64) { self.nonce = nonce }

    public func encode(to w: inout PayloadWriter) { w.write(1, nonce) }

    public init(from r: inout PayloadReader) throws {
        nonce = 0
        while let tag = try r.next() {
            if tag.number == 1 { nonce = try r.uint64(tag) } else { try r.skip(tag) }
        }
    }
}
