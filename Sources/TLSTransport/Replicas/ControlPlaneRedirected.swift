/// A control plane that does not lead answered the hello with the leader's address
/// (`Redirect`); the caller reconnects there (``ControlPlaneAddresses/follow(_:)``).
public struct ControlPlaneRedirected: Error, Sendable, Equatable, CustomStringConvertible {
    /// The leader's `host:port`; empty while no replica leads.
    public var leader: String
    public var epoch: UInt64

    public init(leader: String, epoch: UInt64) {
        self.leader = leader
        self.epoch = epoch
    }

    public var description: String {
        leader.isEmpty ? "a follower answered; no control plane leads yet" : "redirected to the leader at \(leader) (epoch \(epoch))"
    }
}
