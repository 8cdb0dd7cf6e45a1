/// A list of instances: the answer to ``RPCCatalog/listInstances``.
public struct InstanceList: WireCodable, Equatable {
    public var instances: [InstanceRecord]
    /// The cursor for the next page (``InstanceQuery/after``); 0 when this page is the last.
    public var next: UInt64

    public init(instances: [InstanceRecord], next: UInt64 = 0) {
        self.instances = instances
        self.next = next
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instances)
        w.write(2, next)
    }

    public init(from r: inout PayloadReader) throws {
        instances = []
        next = 0
        while let tag = try r.next() {
            switch tag.number {
            case 1: instances.append(try r.message(tag))
            case 2: next = try r.uint64(tag)
            default: try r.skip(tag)
            }
        }
    }
}
