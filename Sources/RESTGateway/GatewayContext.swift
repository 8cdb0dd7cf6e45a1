import Hummingbird
import WireProtocol

/// Per-request context: Hummingbird's core context plus the authenticated caller.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who is calling; forwarded with every RPC so the control plane can decide.
    public var principal: Principal = .anonymous

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}
