/// One version (tag) of a template in the registry.
public struct TemplateVersionRecord: WireCodable, Equatable {
    public var number: Int = 0
    public var tag: String = ""
    public var description: String = ""
    public var sizeBytes: Int = 0
    /// Seconds since the Unix epoch; 0 when never.
    public var lastPull: Int = 0
    public var lastPush: Int = 0
    /// Paths of the version's files (set when one template is shown).
    public var files: [String] = []

    public init(
        number: Int = 0,
        tag: String = "",
        description: String = "",
        sizeBytes: Int = 0,
        lastPull: Int = 0,
        lastPush: Int = 0
    ) {
        self.number = number
        self.tag = tag
        self.description = description
        self.sizeBytes = sizeBytes
        self.lastPull = lastPull
        self.lastPush = lastPush
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, number)
        w.write(2, tag)
        w.write(3, description)
        w.write(4, sizeBytes)
        w.write(5, lastPull)
        w.write(6, lastPush)
        w.write(7, files)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 7: files.append(try r.string(tag))
            case 1: number = try r.int(tag)
            case 2: self.tag = try r.string(tag)
            case 3: description = try r.string(tag)
            case 4: sizeBytes = try r.int(tag)
            case 5: lastPull = try r.int(tag)
            case 6: lastPush = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// A template in the registry with its versions, newest first.
public struct TemplateRecord: WireCodable, Equatable {
    public var id: String = ""
    public var name: String = ""
    public var arch: String = ""
    public var sizeBytes: Int = 0
    public var lastPull: Int = 0
    public var lastPush: Int = 0
    public var versions: [TemplateVersionRecord] = []

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, name)
        w.write(3, arch)
        w.write(4, sizeBytes)
        w.write(5, lastPull)
        w.write(6, lastPush)
        w.write(7, versions)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: name = try r.string(tag)
            case 3: arch = try r.string(tag)
            case 4: sizeBytes = try r.int(tag)
            case 5: lastPull = try r.int(tag)
            case 6: lastPush = try r.int(tag)
            case 7: versions.append(try r.message(tag))
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer of ``RPCCatalog/listTemplates``.
public struct TemplateList: WireCodable, Equatable {
    public var templates: [TemplateRecord]

    public init(templates: [TemplateRecord]) { self.templates = templates }

    public func encode(to w: inout PayloadWriter) { w.write(1, templates) }

    public init(from r: inout PayloadReader) throws {
        templates = []
        while let tag = try r.next() {
            if tag.number == 1 { templates.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}

/// Body of ``RPCCatalog/revertTemplate``: revert to `tag` or `number`, or drop the newest.
public struct RevertTemplateRequest: WireCodable, Equatable {
    public var id: String = ""
    public var tag: String = ""
    public var number: Int?

    public init(id: String, tag: String = "", number: Int? = nil) {
        self.id = id
        self.tag = tag
        self.number = number
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, tag)
        w.write(3, number)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: self.tag = try r.string(tag)
            case 3: number = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
