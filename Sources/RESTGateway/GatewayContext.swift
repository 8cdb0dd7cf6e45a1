import Hummingbird
import NIOCore
import WireProtocol

/// Per-request context: Hummingbird's core context plus the authenticated caller.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who is calling; forwarded with every RPC so the control plane can decide.
    public var principal: Principal = .anonymous
    /// The connection (or HTTP/2 stream) the request came on; its TLS holds any client certificate.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
