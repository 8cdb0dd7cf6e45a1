/// The answer to ``RPCCatalog/status``: Anka's `/api/v1/status` body.
public struct ControllerStatus: WireCodable, Equatable {
    public var status: String
    public var version: String
    public var registryAddress: String
    public var registryStatus: String

    public init(status: String, version: String, registryAddress: String = "", registryStatus: String = "") {
        self.status = status
        self.version = version
        self.registryAddress = registryAddress
        self.registryStatus = registryStatus
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, status)
        w.write(2, version)
        w.write(3, registryAddress)
        w.write(4, registryStatus)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(status: "", version: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: status = try r.string(tag)
            case 2: version = try r.string(tag)
            case 3: registryAddress = try r.string(tag)
            case 4: registryStatus = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
