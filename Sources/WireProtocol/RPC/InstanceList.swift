/// A list of instances: the answer to ``RPCMethod/listInstances``.
public struct InstanceList: WireCodable, Equatable {
    public var instances: [InstanceRecord]

    public init(instances: [InstanceRecord]) { self.instances = instances }

    public func encode(to w: inout PayloadWriter) { w.write(1, instances) }

    public init(from r: inout PayloadReader) throws {
        instances = []
        while let tag = try r.next() {
            if tag.number == 1 { instances.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}
