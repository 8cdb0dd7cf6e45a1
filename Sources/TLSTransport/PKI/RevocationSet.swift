import Synchronization

/// The serial numbers of revoked certificates, shared by every connection handler.
///
/// Thread-safe; the control plane loads it from SQLite at start and adds to it when a
/// node is deleted, so a revoked certificate is refused on its next handshake.
public final class RevocationSet: Sendable {
    private let serials: Mutex<Set<String>>

    public init(_ serials: some Sequence<String> = []) {
        self.serials = Mutex(Set(serials))
    }

    public func revoke(_ serialHex: String) {
        _ = serials.withLock { $0.insert(serialHex) }
    }

    public func isRevoked(_ serialHex: String) -> Bool {
        serials.withLock { $0.contains(serialHex) }
    }

    public var count: Int { serials.withLock { $0.count } }
}
