/// Body of ``RPCCatalog/startInstances``: Anka's `POST /api/v1/vm`.
public struct StartInstancesRequest: WireCodable, Equatable {
    /// Template id (Anka `vmid`).
    public var templateID: String = ""
    public var tag: String?
    public var version: Int?
    public var name: String = ""
    public var externalID: String = ""
    public var count: Int = 1
    public var nodeID: String = ""
    public var priority: Int?
    public var groupID: String = ""
    public var vcpu: Int?
    public var vramMB: Int?
    /// Instance metadata as a JSON object text (the gateway validated it).
    public var metadataJSON: String = ""
    /// Anka `group`: the permission group to start under (resource management).
    public var permissionGroup: String = ""
    /// Everything else the start request may say about the VM.
    public var options = StartOptions()
    /// The instances' tags (Berth's extension).
    public var tags: [String] = []
    /// A ``RestartPolicy`` raw value; empty means `never`.
    public var restartPolicy: String = ""
    /// The most restarts the policy makes; nil means ``RestartPolicy/defaultMaxRestarts``.
    public var maxRestarts: Int?

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, templateID)
        w.write(2, tag)
        w.write(3, version)
        w.write(4, name)
        w.write(5, externalID)
        w.writeExplicit(6, count)  // defaults to 1
        w.write(7, nodeID)
        w.write(8, priority)
        w.write(9, groupID)
        w.write(10, vcpu)
        w.write(11, vramMB)
        w.write(12, metadataJSON)
        w.write(13, permissionGroup)
        if !options.isEmpty { w.write(14, options) }
        w.write(15, tags)
        w.write(16, restartPolicy)
        w.write(17, maxRestarts)
    }

    public init(from r: inout PayloadReader) throws {
        count = 0
        while let tag = try r.next() {
            switch tag.number {
            case 1: templateID = try r.string(tag)
            case 2: self.tag = try r.string(tag)
            case 3: version = try r.int(tag)
            case 4: name = try r.string(tag)
            case 5: externalID = try r.string(tag)
            case 6: count = try r.int(tag)
            case 7: nodeID = try r.string(tag)
            case 8: priority = try r.int(tag)
            case 9: groupID = try r.string(tag)
            case 10: vcpu = try r.int(tag)
            case 11: vramMB = try r.int(tag)
            case 12: metadataJSON = try r.string(tag)
            case 13: permissionGroup = try r.string(tag)
            case 14: options = try r.message(tag)
            case 15: tags.append(try r.string(tag))
            case 16: restartPolicy = try r.string(tag)
            case 17: maxRestarts = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
