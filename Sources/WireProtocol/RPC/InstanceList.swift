/// A list of instances: the answer to ``RPCCatalog/listInstances``.
public struct InstanceList: WireCodable, Equatable {
    public var instances: [InstanceRecord]
    /// Records already encoded as ``InstanceRecord`` payloads, sent after ``instances`` in
    /// the same field, so the receiver cannot tell them apart: a decoded list has them all
    /// in ``instances`` and this empty. The control plane keeps each instance's encoding
    /// between listings and sends those bytes as they are.
    public var encodedInstances: [[UInt8]]
    /// The cursor for the next page (``InstanceQuery/after``); 0 when this page is the last.
    public var next: UInt64

    public init(instances: [InstanceRecord], next: UInt64 = 0) {
        self.instances = instances
        self.encodedInstances = []
        self.next = next
    }

    /// A list of records encoded already (each an ``InstanceRecord``'s payload).
    public init(encodedInstances: [[UInt8]], next: UInt64 = 0) {
        self.instances = []
        self.encodedInstances = encodedInstances
        self.next = next
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instances)
        for record in encodedInstances { w.write(1, encodedMessage: record) }
        w.write(2, next)
    }

    public init(from r: inout PayloadReader) throws {
        instances = []
        encodedInstances = []
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

extension InstanceList {
    /// A list as received, with its records left encoded: the byte range of each
    /// ``InstanceRecord``'s payload within ``bytes``. For a reader that works on a record's
    /// bytes before (or instead of) decoding it.
    public struct Undecoded: Sendable {
        public let bytes: [UInt8]
        public let records: [Range<Int>]
        public let next: UInt64

        /// Finds the records of an encoded ``InstanceList``; throws a ``WireError`` on
        /// malformed input. The records themselves are not checked until decoded.
        public init(bytes: [UInt8]) throws {
            var records: [Range<Int>] = []
            var next: UInt64 = 0
            try bytes.withUnsafeBytes { raw in
                var reader = PayloadReader(raw)
                while let tag = try reader.next() {
                    switch tag.number {
                    case 1:
                        let record = try reader.lengthDelimited(tag)
                        records.append((reader.position - record.count)..<reader.position)
                    case 2: next = try reader.uint64(tag)
                    default: try reader.skip(tag)
                    }
                }
            }
            self.bytes = bytes
            self.records = records
            self.next = next
        }
    }
}
