import NIOCore

/// Sits on a listening channel and holds its reads while ``ConnectionAdmission``'s
/// handshake gate is full, so new connections wait in the kernel's accept queue.
///
/// Every accepted connection is counted in the gate from here until its peer authenticates
/// (TLS handshake, then hello) or it closes. While the gate is shut, a timer closes handshakes that stalled
/// (``ConnectionAdmission/Limits/stallAge``), so idle connections cannot keep it shut.
final class AcceptGateHandler: ChannelDuplexHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private let admission: ConnectionAdmission
    private var readHeld = false
    private var stallCheck: Scheduled<Void>?

    init(admission: ConnectionAdmission) {
        self.admission = admission
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        admission.handshakeBegan(unwrapInboundIn(data))
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let answer = admission.mayAccept {
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.resume(context: context)
            }
        }
        guard !answer.open else {
            readHeld = false
            context.read()
            return
        }
        readHeld = true
        guard stallCheck == nil, let wait = answer.oldestStallsIn else { return }
        stallCheck = context.eventLoop.assumeIsolated().scheduleTask(in: max(wait, .milliseconds(10))) {
            let (handler, context) = loopBound.value
            handler.stallCheck = nil
            handler.admission.closeStalledHandshakes()
            // Open again if something stalled; if not, look again when the next one would.
            if handler.readHeld { handler.read(context: context) }
        }
    }

    private func resume(context: ChannelHandlerContext) {
        guard readHeld else { return }
        readHeld = false
        read(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stallCheck?.cancel()
        stallCheck = nil
    }
}

@available(*, unavailable)
extension AcceptGateHandler: Sendable {}
