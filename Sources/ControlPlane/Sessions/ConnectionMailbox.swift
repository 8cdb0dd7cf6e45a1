import NIOCore
import Synchronization
import WireProtocol

/// What one connection has received and not yet handled, and what it turned out to be.
///
/// A connection has no task while it waits: its channel handler posts each frame here,
/// and the first post into an idle mailbox starts one drain task, which handles the work
/// in arrival order and ends when the mailbox is empty. Only that task changes the phase,
/// so a session's steps never interleave. The handler stops reading from the socket while
/// ``highWater`` items wait, and the drain task resumes it at ``lowWater``.
final class ConnectionMailbox: Sendable {
    /// One thing for the drain task to handle.
    enum Work: Sendable {
        case frame(Frame)
        /// The pipeline reported an error; the connection ends.
        case failure(ConnectionFailure)
        /// The channel closed; always the last item.
        case closed
    }

    /// What the connection is, as far as its drain task has got.
    enum Phase: Sendable {
        /// Waiting for the first frame (`hello` or `enrollRequest`).
        case opening
        case node(PeerSession)
        case gateway(PeerSession)
        /// Ending: later frames are dropped; the session (if any) is let go at `closed`.
        case ending(PeerSession?)

        var session: PeerSession? {
            switch self {
            case .opening: nil
            case .node(let session), .gateway(let session): session
            case .ending(let session): session
            }
        }
    }

    /// Items waiting at which the handler stops reading from the socket.
    static let highWater = 16
    /// Items waiting at which reading resumes.
    static let lowWater = 4

    private struct State {
        /// Allocated on the first post and dropped once drained: an idle mailbox holds none.
        var work: CircularBuffer<Work>?
        var draining = false
        var readHeld = false
        var phase = Phase.opening
    }

    private let state = Mutex(State())

    /// Queues `work`; `true` when the caller must start the drain task.
    func post(_ work: Work) -> Bool {
        state.withLock { state in
            if state.work == nil { state.work = CircularBuffer(initialCapacity: 4) }
            state.work!.append(work)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
    }

    /// The node or gateway session, when nothing waits and no drain task runs: a frame that
    /// needs no suspension can then be handled where it arrived without overtaking anything.
    func idleSession() -> PeerSession? {
        state.withLock { state in
            guard !state.draining else { return nil }
            switch state.phase {
            case .node(let session), .gateway(let session): return session
            case .opening, .ending: return nil
            }
        }
    }

    /// For the drain task: the next item, or `nil` when there is none (the task then ends,
    /// and the next post starts another). `resumeReading` says reads were held and may go on.
    func next() -> (work: Work?, resumeReading: Bool) {
        state.withLock { state in
            guard let item = state.work?.popFirst() else {
                state.work = nil
                state.draining = false
                let resume = state.readHeld
                state.readHeld = false
                return (nil, resume)
            }
            if state.readHeld, (state.work?.count ?? 0) <= Self.lowWater {
                state.readHeld = false
                return (item, true)
            }
            return (item, false)
        }
    }

    /// For the handler's `read`: `true` when enough waits that the socket should not be read
    /// (the drain task resumes it).
    func shouldHoldRead() -> Bool {
        state.withLock { state in
            guard (state.work?.count ?? 0) >= Self.highWater else { return false }
            state.readHeld = true
            return true
        }
    }

    /// What the connection is; changed only by the drain task.
    var phase: Phase {
        get { state.withLock { $0.phase } }
        set { state.withLock { $0.phase = newValue } }
    }
}

/// An error the pipeline reported, reduced to what the session logs and answers.
enum ConnectionFailure: Sendable {
    /// A protocol error (a malformed or oversized frame): answered with an error frame.
    case wire(WireError)
    /// The TLS handshake failed (NIOSSL).
    case handshake(String)
    /// BoringSSL refused the connection.
    case tls(String)
    case other(String)
}
