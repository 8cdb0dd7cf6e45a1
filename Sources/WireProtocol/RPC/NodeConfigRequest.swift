/// Body of ``RPCCatalog/configureNode``: Anka's `POST /api/v1/node/config`.
///
/// Only the fields that are set change.
public struct NodeConfigRequest: WireCodable, Equatable {
    public var nodeID: String = ""
    public var name: String?
    public var host: String?
    public var maxVMCount: Int?
    /// `number` or `resource`.
    public var capacityMode: String?
    public var vcpuOverride: Int?
    public var ramOverride: Int?
    public var drainMode: Bool?

    public init(nodeID: String) { self.nodeID = nodeID }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, nodeID)
        w.write(2, name)
        w.write(3, host)
        w.write(4, maxVMCount)
        w.write(5, capacityMode)
        w.write(6, vcpuOverride)
        w.write(7, ramOverride)
        if let drainMode { w.write(8, UInt64?(drainMode ? 1 : 0)) }
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: nodeID = try r.string(tag)
            case 2: name = try r.string(tag)
            case 3: host = try r.string(tag)
            case 4: maxVMCount = try r.int(tag)
            case 5: capacityMode = try r.string(tag)
            case 6: vcpuOverride = try r.int(tag)
            case 7: ramOverride = try r.int(tag)
            case 8: drainMode = try r.bool(tag)
            default: try r.skip(tag)
            }
        }
    }
}
