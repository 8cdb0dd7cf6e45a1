/// What a template command (pull, cancel pull, remove) acts on.
public struct TemplateCommand: WireCodable, Equatable, Sendable {
    /// The distribution request a pull belongs to (reported back in ``PullProgress``).
    public var distributionID: String
    public var templateID: String
    public var tag: String
    public var templateName: String

    public init(distributionID: String = "", templateID: String, tag: String = "", templateName: String = "") {
        self.distributionID = distributionID
        self.templateID = templateID
        self.tag = tag
        self.templateName = templateName
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, distributionID)
        w.write(2, templateID)
        w.write(3, tag)
        w.write(4, templateName)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(templateID: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: distributionID = try r.string(tag)
            case 2: templateID = try r.string(tag)
            case 3: self.tag = try r.string(tag)
            case 4: templateName = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
