/// A template version a node holds in its local cache.
public struct TemplateRef: WireCodable, Equatable, Hashable {
    public var templateID: String
    public var tag: String
    public var name: String
    /// Bytes of the version's files (0 when unknown).
    public var size: Int

    public init(templateID: String, tag: String, name: String = "", size: Int = 0) {
        self.templateID = templateID
        self.tag = tag
        self.name = name
        self.size = size
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, templateID)
        w.write(2, tag)
        w.write(3, name)
        w.write(4, size)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(templateID: "", tag: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: templateID = try r.string(tag)
            case 2: self.tag = try r.string(tag)
            case 3: name = try r.string(tag)
            case 4: size = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
