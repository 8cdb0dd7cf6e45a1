/// Body of ``RPCCatalog/updateInstance``: Anka's `PUT /api/v1/vm?id=`.
///
/// Only the fields that are set change.
public struct UpdateInstanceRequest: WireCodable, Equatable {
    public var instanceID: String = ""
    public var name: String?
    public var externalID: String?
    /// A JSON object text replacing the instance's metadata.
    public var metadataJSON: String?

    public init(instanceID: String) { self.instanceID = instanceID }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instanceID)
        w.write(2, name)
        w.write(3, externalID)
        w.write(4, metadataJSON)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: instanceID = try r.string(tag)
            case 2: name = try r.string(tag)
            case 3: externalID = try r.string(tag)
            case 4: metadataJSON = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
