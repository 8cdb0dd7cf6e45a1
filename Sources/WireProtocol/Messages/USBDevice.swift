/// A USB device attached to a node. `name` is the device group clients ask for
/// (Anka `usb_device`, e.g. `iphone7`); `id` tells devices of one group apart.
public struct USBDevice: WireCodable, Equatable, Hashable {
    public var name: String
    public var id: String
    /// In node listings: claimed by a live instance.
    public var busy: Bool

    public init(name: String, id: String, busy: Bool = false) {
        self.name = name
        self.id = id
        self.busy = busy
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, name)
        w.write(2, id)
        w.write(3, busy)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(name: "", id: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: name = try r.string(tag)
            case 2: id = try r.string(tag)
            case 3: busy = try r.bool(tag)
            default: try r.skip(tag)
            }
        }
    }
}
