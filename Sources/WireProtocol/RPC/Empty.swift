/// An empty body.
public struct Empty: WireCodable, Equatable {
    public init() {}
    public func encode(to w: inout PayloadWriter) {}
    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() { try r.skip(tag) }
    }
}
