import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// Waits for a PostgreSQL connection's answers, and ends every wait once the connection
/// closes or an answer is overdue.
///
/// postgres-nio drops a query written to a connection that has just closed without failing
/// it (`channel.write(…, promise: nil)`), so a plain `wait()` on its answer never returns:
/// a primary that dies at the wrong moment would hang the writer for good. And a host that
/// goes dark (no reset) leaves a wait until TCP gives up, minutes later. Here each wait
/// fails with ``PersistenceError/Code/unavailable`` when the connection closes (one close
/// callback per connection, not one per statement) or after ``deadline``; an overdue
/// answer also closes the connection, so the next transaction connects afresh.
final class ConnectionWatch: Sendable {
    /// How long one answer may take: well past any statement Berth sends.
    static let deadline = TimeAmount.seconds(60)

    let connection: PostgresConnection
    private let state = NIOLockedValueBox(State())

    private struct State {
        var closed = false
        var next: UInt64 = 0
        var waiting: [UInt64: EventLoopPromise<PostgresQueryResult>] = [:]
    }

    init(_ connection: PostgresConnection) {
        self.connection = connection
        connection.closeFuture.whenComplete { [state] _ in
            let waiting = state.withLockedValue { state in
                state.closed = true
                defer { state.waiting = [:] }
                return Array(state.waiting.values)
            }
            for promise in waiting { promise.fail(Self.closed) }
        }
    }

    static var closed: PersistenceError { PersistenceError(.unavailable, "the connection to PostgreSQL closed") }

    /// The answer of `future` (a query sent on ``connection``), on the calling thread.
    func wait(_ future: EventLoopFuture<PostgresQueryResult>) throws -> PostgresQueryResult {
        let promise = future.eventLoop.makePromise(of: PostgresQueryResult.self)
        let id = state.withLockedValue { state -> UInt64? in
            guard !state.closed else { return nil }
            state.next += 1
            state.waiting[state.next] = promise
            return state.next
        }
        guard let id else {
            // Closed already: the query may have been dropped, so nothing waits for it.
            promise.fail(Self.closed)
            throw Self.closed
        }
        future.cascade(to: promise)
        let connection = self.connection
        let overdue = future.eventLoop.scheduleTask(in: Self.deadline) {
            promise.fail(PersistenceError(.unavailable, "PostgreSQL did not answer within \(Self.deadline.nanoseconds / 1_000_000_000) s"))
            let closing: EventLoopFuture<Void> = connection.close()
            closing.whenComplete { _ in }
        }
        defer {
            overdue.cancel()
            state.withLockedValue { _ = $0.waiting.removeValue(forKey: id) }
        }
        return try promise.futureResult.wait()
    }
}
