import NIOCore
import Synchronization
import WireProtocol

/// The gateway's end of one VM access tunnel, on its control-plane connection.
///
/// ``inbound`` yields what the instance sends; the caller hands each piece on to its client
/// and then calls ``consumed(_:)``, which grants the far end that many bytes again. So what
/// waits here is at most the window the gateway granted, and a client that reads slowly
/// stalls its own tunnel only. ``send(_:)`` waits for credit from the far end.
public final class GatewayTunnel: Sendable {
    private struct State {
        var credit: Int
        var creditWaiter: CheckedContinuation<Void, any Error>?
        var closed: String?
    }

    let streamID: UInt32
    let channel: any Channel
    private let state: Mutex<State>
    private let continuation: AsyncStream<ByteBuffer>.Continuation
    /// What the instance sends, until the tunnel closes.
    public let inbound: AsyncStream<ByteBuffer>
    /// Why the tunnel closed, once it has.
    public var closeReason: String? { state.withLock { $0.closed } }

    init(streamID: UInt32, channel: any Channel, credit: Int) {
        self.streamID = streamID
        self.channel = channel
        self.state = Mutex(State(credit: credit))
        (inbound, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
    }

    /// Sends bytes to the instance, in frames within the far end's credit; waits for credit.
    public func send(_ buffer: ByteBuffer) async throws {
        var rest = buffer
        while rest.readableBytes > 0 {
            let size = try await take(min(rest.readableBytes, TunnelLimits.maxDataFrame))
            let slice = rest.readSlice(length: size)!
            channel.writeAndFlush(Frame(type: .tunnelData, streamID: streamID, payload: slice), promise: nil)
        }
    }

    /// The client has taken `bytes` of what ``inbound`` yielded: the far end may send as many.
    public func consumed(_ bytes: Int) {
        guard bytes > 0, state.withLock({ $0.closed == nil }) else { return }
        channel.writeAndFlush(
            TunnelWindow(increment: bytes).frame(streamID: streamID, allocator: channel.allocator),
            promise: nil
        )
    }

    /// Closes the tunnel from this end (the client left), telling the control plane.
    public func close(reason: String) {
        guard finish(reason) else { return }
        channel.writeAndFlush(
            TunnelClose(reason: reason).frame(streamID: streamID, allocator: channel.allocator),
            promise: nil
        )
    }

    // MARK: from the control plane

    func received(_ frame: Frame) {
        switch frame.type {
        case .tunnelData:
            continuation.yield(frame.payload)
        case .tunnelWindow:
            guard let increment = try? TunnelWindow(payload: frame.payload).increment, increment > 0 else { return }
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                state.credit += increment
                defer { state.creditWaiter = nil }
                return state.creditWaiter
            }
            waiter?.resume()
        case .tunnelClose:
            _ = finish((try? TunnelClose(payload: frame.payload).reason) ?? "closed")
        default:
            break
        }
    }

    /// Marks the tunnel closed; `false` when it already was.
    @discardableResult
    func finish(_ reason: String) -> Bool {
        let (first, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, any Error>?) in
            guard state.closed == nil else { return (false, nil) }
            state.closed = reason
            defer { state.creditWaiter = nil }
            return (true, state.creditWaiter)
        }
        guard first else { return false }
        waiter?.resume(throwing: GatewayError(.badGateway, "the tunnel closed: \(reason)"))
        continuation.finish()
        return true
    }

    /// Up to `wanted` bytes of credit, waiting while there is none.
    private func take(_ wanted: Int) async throws -> Int {
        while true {
            let granted = try state.withLock { state -> Int in
                if let reason = state.closed { throw GatewayError(.badGateway, "the tunnel closed: \(reason)") }
                let size = min(wanted, state.credit)
                state.credit -= size
                return size
            }
            if granted > 0 { return granted }
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> (any Error)?? in
                    if let reason = state.closed {
                        return .some(GatewayError(.badGateway, "the tunnel closed: \(reason)"))
                    }
                    if state.credit > 0 { return .some(nil) }
                    state.creditWaiter = waiter
                    return nil
                }
                switch resumeNow {
                case .none: break
                case .some(.none): waiter.resume()
                case .some(.some(let error)): waiter.resume(throwing: error)
                }
            }
        }
    }
}
