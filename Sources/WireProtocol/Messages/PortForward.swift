/// A port-forwarding rule of a running VM, as in Anka's `vminfo.port_forwarding`.
public struct PortForward: WireCodable, Equatable {
    public var guestPort: Int
    public var hostPort: Int
    public var proto: String
    public var name: String

    public init(guestPort: Int, hostPort: Int, proto: String = "tcp", name: String) {
        self.guestPort = guestPort
        self.hostPort = hostPort
        self.proto = proto
        self.name = name
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, guestPort)
        w.write(2, hostPort)
        w.write(3, proto)
        w.write(4, name)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(guestPort: 0, hostPort: 0, proto: "", name: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: guestPort = try r.int(tag)
            case 2: hostPort = try r.int(tag)
            case 3: proto = try r.string(tag)
            case 4: name = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
