/// The control planes a node or gateway may reach, and which one to dial next.
///
/// Dials the configured addresses in turn; a follower's ``ControlPlaneRedirected`` answer
/// puts the leader it named first for the next attempt. A failure there goes back to the
/// configured addresses, after the one last tried, so a stale answer costs one attempt.
public struct ControlPlaneAddresses: Sendable, Equatable {
    /// The addresses given, in order (at least one).
    public let configured: [ControlPlaneAddress]
    private var index = 0
    private var leader: ControlPlaneAddress?
    private var redirectsInARow = 0

    public init(_ configured: [ControlPlaneAddress]) {
        precondition(!configured.isEmpty, "at least one control-plane address")
        self.configured = configured
    }

    /// The address to dial now.
    public var current: ControlPlaneAddress { leader ?? configured[index] }

    /// An attempt at ``current`` ended: it reached a welcome (`welcomed`), a follower
    /// answered (`redirect`), or it failed before either, which moves on to the next
    /// address. Returns whether to dial again at once rather than after a backoff: only for
    /// the first redirect in a row (straight to the leader it named).
    public mutating func attemptEnded(welcomed: Bool, redirect: ControlPlaneRedirected?) -> Bool {
        var followed = false
        if let redirect {
            followed = follow(redirect)
        } else if !welcomed {
            moveOn()
        }
        redirectsInARow = followed ? redirectsInARow + 1 : 0
        return followed && redirectsInARow == 1
    }

    /// The attempt at ``current`` failed: the next one is tried.
    mutating func moveOn() {
        if leader != nil {
            leader = nil
        } else {
            index = (index + 1) % configured.count
        }
    }

    /// A follower named the leader; `false` (and the next configured address is tried) if
    /// it named none or something that is not an address.
    mutating func follow(_ redirect: ControlPlaneRedirected) -> Bool {
        guard let address = ControlPlaneAddress(parsing: redirect.leader) else {
            moveOn()
            return false
        }
        if let position = configured.firstIndex(of: address) {
            index = position
            leader = nil
        } else {
            leader = address
        }
        return true
    }
}
