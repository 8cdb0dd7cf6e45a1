import NIOCore

/// The control plane's bookkeeping for one connected node.
struct NodeLink {
    var session: PeerSession
    /// Set once the welcome is sent; before that, commands wait.
    var ready = false
    /// Highest command id written to this connection (or applied by the node before it).
    var lastSentCommandID: Int64
    var flushing = false
    var flushAgain = false
    /// The agent reports it is updating itself (`Updating`); no placements meanwhile.
    var updating = false
}

/// A node whose connection was lost, while the control plane waits for it to reconnect.
struct Reconnecting {
    /// When its last frame arrived.
    var lastHeard: NIODeadline
    /// The state it is shown in meanwhile (what it had when the connection dropped).
    var state: String
}
