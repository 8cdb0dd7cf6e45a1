/// Body of ``RPCCatalog/updateInstance``: Anka's `PUT /api/v1/vm?id=`.
///
/// Only the fields that are set change.
public struct UpdateInstanceRequest: WireCodable, Equatable {
    public var instanceID: String = ""
    public var name: String?
    public var externalID: String?
    /// A JSON object text replacing the instance's metadata.
    public var metadataJSON: String?
    /// Sets or clears the delete lock.
    public var deleteLock: Bool?
    /// Replaces the instance's tags (an empty list removes them).
    public var tags: [String]?

    public init(instanceID: String) { self.instanceID = instanceID }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instanceID)
        w.write(2, name)
        w.write(3, externalID)
        w.write(4, metadataJSON)
        if let deleteLock { w.writeExplicit(5, deleteLock) }
        if let tags {
            w.writeExplicit(6, true)  // tags are replaced, even by none
            w.write(7, tags)
        }
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: instanceID = try r.string(tag)
            case 2: name = try r.string(tag)
            case 3: externalID = try r.string(tag)
            case 4: metadataJSON = try r.string(tag)
            case 5: deleteLock = try r.bool(tag)
            case 6: if try r.bool(tag) { tags = tags ?? [] }
            case 7: tags = (tags ?? []) + [try r.string(tag)]
            default: try r.skip(tag)
            }
        }
    }
}
