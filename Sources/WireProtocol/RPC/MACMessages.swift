/// Body of ``RPCCatalog/listMACs``: Anka's `GET /api/v1/macaddr` parameters.
public struct MACQuery: WireCodable, Equatable {
    /// Count free addresses (`count`), or those in use (`in_use` without `limit`).
    public var count: Bool = false
    public var inUse: Bool = false
    /// List up to this many addresses (0: count only).
    public var limit: Int = 0
    /// List after this address (paging).
    public var last: String = ""

    public init(count: Bool = false, inUse: Bool = false, limit: Int = 0, last: String = "") {
        self.count = count
        self.inUse = inUse
        self.limit = limit
        self.last = last
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, count)
        w.write(2, inUse)
        w.write(3, limit)
        w.write(4, last)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: count = try r.bool(tag)
            case 2: inUse = try r.bool(tag)
            case 3: limit = try r.int(tag)
            case 4: last = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// One address of the managed pool.
public struct MACRecord: WireCodable, Equatable {
    public var mac: String = ""
    /// The instance holding it; empty when free.
    public var instanceID: String = ""

    public init(mac: String, instanceID: String = "") {
        self.mac = mac
        self.instanceID = instanceID
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, mac)
        w.write(2, instanceID)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: mac = try r.string(tag)
            case 2: instanceID = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer of the MAC pool methods: a number (count, added, or kept) and/or addresses.
public struct MACList: WireCodable, Equatable {
    public var total: Int = 0
    public var addresses: [MACRecord] = []

    public init(total: Int = 0, addresses: [MACRecord] = []) {
        self.total = total
        self.addresses = addresses
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, total)
        w.write(2, addresses)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: total = try r.int(tag)
            case 2: addresses.append(try r.message(tag))
            default: try r.skip(tag)
            }
        }
    }
}
