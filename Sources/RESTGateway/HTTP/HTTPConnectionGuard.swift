import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Deadlines for one HTTP connection, and error answers that always carry the envelope.
///
/// Sits after the HTTP codec (Hummingbird's `additionalChannelHandlers`), so it sees
/// request heads, body parts and ends, and the response parts written back.
/// - **Header deadline**: a new connection must deliver a complete request head within
///   ``Deadlines/header``; a kept-alive one, its next head within ``Deadlines/keepAlive``.
///   A slowloris client trickling header bytes is closed then.
/// - **Body deadline**: once a head has arrived, each body part must follow the previous
///   one (or the head) within ``Deadlines/bodyInactivity``, so a `Content-Length` never met
///   or a chunked body that never ends cannot hold the connection. Large uploads that keep
///   moving are not limited.
/// - **Tunnels** (``PortForwardRoutes``) have no body deadline: their body is a TCP stream
///   that may rest as long as the connection it carries.
/// - **Envelope**: a refusal written with an empty body (the HTTP parser's 400 for
///   malformed requests) gets the FAIL envelope instead.
/// - **413 closes**: after a 413 the connection is closed instead of reading and discarding
///   the rest of the oversized body.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The deadlines, in the gateway's configuration.
    struct Deadlines: Sendable {
        var header: TimeAmount
        var bodyInactivity: TimeAmount
        var keepAlive: TimeAmount
    }

    private let deadlines: Deadlines
    private var timer: Scheduled<Void>?
    private var started = false
    private var closeAfterResponse = false
    /// The request in progress is a tunnel.
    private var tunnel = false
    /// The envelope to send in place of an empty error body, once its head has gone out.
    private var pendingEnvelope: ByteBuffer?

    init(deadlines: Deadlines) {
        self.deadlines = deadlines
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            tunnel = head.path.map { $0.hasPrefix(PortForwardRoutes.path) } ?? false
            if tunnel { cancel() } else { arm(context: context, deadlines.bodyInactivity) }
        case .body:
            if !tunnel { arm(context: context, deadlines.bodyInactivity) }
        case .end:
            // The request is complete; the response has no deadline here.
            cancel()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            if head.status.code == 413 { closeAfterResponse = true }
            if head.status.code >= 400, head.headerFields[.contentLength] == "0" {
                let envelope = Self.envelope(for: head.status)
                head.headerFields[.contentLength] = "\(envelope.readableBytes)"
                head.headerFields[.contentType] = "application/json; charset=utf-8"
                pendingEnvelope = envelope
                context.write(wrapOutboundOut(.head(head)), promise: promise)
                return
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end(let trailers):
            if let envelope = pendingEnvelope {
                pendingEnvelope = nil
                context.write(wrapOutboundOut(.body(envelope)), promise: nil)
            }
            if closeAfterResponse {
                let channel = context.channel
                let written = context.eventLoop.makePromise(of: Void.self)
                written.futureResult.cascade(to: promise)
                context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: written)
                written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            } else {
                context.write(wrapOutboundOut(.end(trailers)), promise: promise)
                arm(context: context, deadlines.keepAlive)
            }
        }
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        arm(context: context, deadlines.header)
    }

    private func arm(context: ChannelHandlerContext, _ timeout: TimeAmount) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            channel.close(promise: nil)
        }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }

    static func envelope(for status: HTTPResponse.Status) -> ByteBuffer {
        let message =
            switch status.code {
            case 400: "Bad Request: the request is not valid HTTP (malformed request line, headers or framing)"
            case 413: "Request body too large"
            case 431: "Request headers too large"
            default: status.reasonPhrase
            }
        let envelope = AnkaEnvelope<Never?>(status: "FAIL", message: message, body: .absent)
        return (try? JSONBytesEncoder.encode(envelope)) ?? ByteBuffer()
    }
}

@available(*, unavailable)
extension HTTPConnectionGuard: Sendable {}
