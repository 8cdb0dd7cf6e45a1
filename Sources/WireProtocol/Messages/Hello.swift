/// The first frame a node or gateway sends after the TLS handshake.
///
/// Who the peer is comes from its certificate, never from this message. A node reports
/// what it has so the control plane can reconcile after a reconnect.
public struct Hello: WireMessage, Equatable {
    public static let messageType = MessageType.hello

    public var minVersion: UInt32 = ProtocolVersion.minimumSupported
    public var maxVersion: UInt32 = ProtocolVersion.current
    public var capabilities: [String] = []
    public var agentVersion: String = ""
    public var nodeName: String = ""
    public var resources: NodeResources?
    public var templates: [TemplateRef] = []
    /// Bytes of the node's template cache.
    public var cacheBytes: Int = 0
    public var instances: [InstanceStatus] = []
    /// Highest command id the node has applied; the server treats everything up to it as
    /// acknowledged, as far as its own history of `lastAppliedEpoch` reaches.
    public var lastAppliedCommandID: UInt64 = 0
    /// The epoch of that command (see ``NodeCommand/epoch``).
    public var lastAppliedEpoch: UInt64 = 0
    /// Instances with events the control plane has not acknowledged yet, which the node
    /// sends again right after the welcome. Their entries in `instances` are not judged
    /// until those events have been applied in order.
    public var pendingEventInstances: [String] = []

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, UInt64(minVersion))
        w.write(2, UInt64(maxVersion))
        w.write(3, capabilities)
        w.write(4, agentVersion)
        w.write(5, nodeName)
        w.write(6, resources)
        w.write(7, templates)
        w.write(8, instances)
        w.write(9, lastAppliedCommandID)
        w.write(10, cacheBytes)
        w.write(11, lastAppliedEpoch)
        w.write(12, pendingEventInstances)
    }

    public init(from r: inout PayloadReader) throws {
        minVersion = 0
        maxVersion = 0
        while let tag = try r.next() {
            switch tag.number {
            case 1: minVersion = try r.uint32(tag)
            case 2: maxVersion = try r.uint32(tag)
            case 3: capabilities.append(try r.string(tag))
            case 4: agentVersion = try r.string(tag)
            case 5: nodeName = try r.string(tag)
            case 6: resources = try r.message(tag)
            case 7: templates.append(try r.message(tag))
            case 8: instances.append(try r.message(tag))
            case 9: lastAppliedCommandID = try r.uint64(tag)
            case 10: cacheBytes = try r.int(tag)
            case 11: lastAppliedEpoch = try r.uint64(tag)
            case 12: pendingEventInstances.append(try r.string(tag))
            default: try r.skip(tag)
            }
        }
    }
}
