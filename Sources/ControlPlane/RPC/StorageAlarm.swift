import Logging
import Synchronization
import WireProtocol

/// Tracks episodes of full storage, so an operator sees one error when the disk fills and
/// one notice when writes succeed again, rather than a line per refused request.
///
/// Thread-safe.
final class StorageAlarm: Sendable {
    private let full = Mutex(false)

    func reportFull(method: RPCMethod, error: any Error, logger: Logger) {
        let first = full.withLock { full in
            defer { full = true }
            return !full
        }
        guard first else { return }
        logger.error(
            "control plane storage is full: writes are refused with 507 until space is freed; reads still work",
            metadata: ["method": "\(method)", "error": "\(error)"]
        )
    }

    func reportWritable(logger: Logger) {
        let wasFull = full.withLock { full in
            defer { full = false }
            return full
        }
        if wasFull { logger.notice("control plane storage is writable again") }
    }
}
