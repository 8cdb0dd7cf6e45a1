/// A control plane that does not lead answers a ``Hello`` with this, then closes: the peer
/// reconnects to `leader` (high availability, `docs/ha.md`).
///
/// Sent only to peers whose hello lists ``capability``; others get an ``ErrorFrame`` that
/// names the leader in words.
public struct Redirect: WireMessage, Equatable {
    public static let messageType = MessageType.redirect

    /// The hello capability that says the peer follows a redirect.
    public static let capability = "redirect"

    /// Where the leader takes nodes and gateways (`host:port`); empty while none leads.
    public var leader: String
    /// The leader's lease epoch (0 while none leads).
    public var epoch: UInt64

    public init(leader: String, epoch: UInt64) {
        self.leader = leader
        self.epoch = epoch
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, leader)
        w.write(2, epoch)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(leader: "", epoch: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: leader = try r.string(tag)
            case 2: epoch = try r.uint64(tag)
            default: try r.skip(tag)
            }
        }
    }
}
