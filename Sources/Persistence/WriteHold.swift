import Dispatch
import GRDB

/// A held writer: until ``release()``, no write of the database begins (reads go on), as
/// when a commit is slow. For tests of what may happen while a caller waits for storage.
public final class WriteHold: Sendable {
    private let released = DispatchSemaphore(value: 0)
    private let holding: Task<Void, any Error>

    init(writer: any DatabaseWriter) async {
        let entered = DispatchSemaphore(value: 0)
        let released = self.released
        holding = Task {
            try await writer.writeWithoutTransaction { _ in
                entered.signal()
                released.wait()
            }
        }
        // Returns once the writer is held, not merely asked for.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                entered.wait()
                continuation.resume()
            }
        }
    }

    /// Lets the writes queued meanwhile run, in the order they were asked for.
    public func release() async {
        released.signal()
        _ = try? await holding.value
    }
}

extension BerthDatabase {
    /// Holds the writer until the returned hold is released; see ``WriteHold``. SQLite
    /// only (tests and drills).
    public func holdWrites() async -> WriteHold {
        guard let writer = try? writer else { preconditionFailure("holdWrites is SQLite's alone") }
        return await WriteHold(writer: writer)
    }
}
