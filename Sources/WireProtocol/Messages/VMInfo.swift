/// What a node reports about a running VM: Anka's `vminfo` object.
///
/// Times are microseconds since the Unix epoch; 0 means "not set".
public struct VMInfo: WireCodable, Equatable {
    public var uuid: String = ""
    public var name: String = ""
    public var status: String = ""
    public var cpuCores: Int = 0
    public var ramMB: Int = 0
    public var hostIP: String = ""
    public var ip: String = ""
    public var vncPort: Int = 0
    public var portForwarding: [PortForward] = []
    public var creationDateMicros: Int = 0
    public var startDateMicros: Int = 0
    public var stopDateMicros: Int = 0

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, uuid)
        w.write(2, name)
        w.write(3, status)
        w.write(4, cpuCores)
        w.write(5, ramMB)
        w.write(6, hostIP)
        w.write(7, ip)
        w.write(8, vncPort)
        w.write(9, portForwarding)
        w.write(10, creationDateMicros)
        w.write(11, startDateMicros)
        w.write(12, stopDateMicros)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: uuid = try r.string(tag)
            case 2: name = try r.string(tag)
            case 3: status = try r.string(tag)
            case 4: cpuCores = try r.int(tag)
            case 5: ramMB = try r.int(tag)
            case 6: hostIP = try r.string(tag)
            case 7: ip = try r.string(tag)
            case 8: vncPort = try r.int(tag)
            case 9: portForwarding.append(try r.message(tag))
            case 10: creationDateMicros = try r.int(tag)
            case 11: startDateMicros = try r.int(tag)
            case 12: stopDateMicros = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
