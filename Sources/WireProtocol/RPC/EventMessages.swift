/// One entry of the controller's event log.
public struct EventRecord: WireCodable, Equatable {
    public var id: Int = 0
    public var tsMicros: Int = 0
    /// Dotted kind, e.g. `instance.started`, `node.offline`, `api.startInstances`.
    public var kind: String = ""
    /// The object it is about: an instance, node, group, key or permission group id.
    public var subject: String = ""
    public var message: String = ""
    /// Who caused it: a key id, a certificate CN, `root`, or empty for the controller itself.
    public var actor: String = ""

    public init(
        id: Int = 0,
        tsMicros: Int = 0,
        kind: String = "",
        subject: String = "",
        message: String = "",
        actor: String = ""
    ) {
        self.id = id
        self.tsMicros = tsMicros
        self.kind = kind
        self.subject = subject
        self.message = message
        self.actor = actor
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, tsMicros)
        w.write(3, kind)
        w.write(4, subject)
        w.write(5, message)
        w.write(6, actor)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.int(tag)
            case 2: tsMicros = try r.int(tag)
            case 3: kind = try r.string(tag)
            case 4: subject = try r.string(tag)
            case 5: message = try r.string(tag)
            case 6: actor = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Body of ``RPCCatalog/listEvents``.
public struct EventQuery: WireCodable, Equatable {
    /// Events after this id, oldest first (tailing; 0 is from the start); `nil` for the newest first.
    public var afterID: Int?
    /// Events before this id (paging back), newest first; 0 for none.
    public var beforeID: Int = 0
    public var kindPrefix: String = ""
    public var subject: String = ""
    public var limit: Int = 100

    public init(afterID: Int? = nil, beforeID: Int = 0, kindPrefix: String = "", subject: String = "", limit: Int = 100) {
        self.afterID = afterID
        self.beforeID = beforeID
        self.kindPrefix = kindPrefix
        self.subject = subject
        self.limit = limit
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, afterID)
        w.write(2, beforeID)
        w.write(3, kindPrefix)
        w.write(4, subject)
        w.writeExplicit(5, limit)  // defaults to 100
    }

    public init(from r: inout PayloadReader) throws {
        limit = 0
        while let tag = try r.next() {
            switch tag.number {
            case 1: afterID = try r.int(tag)
            case 2: beforeID = try r.int(tag)
            case 3: kindPrefix = try r.string(tag)
            case 4: subject = try r.string(tag)
            case 5: limit = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer of ``RPCCatalog/listEvents``.
public struct EventList: WireCodable, Equatable {
    public var events: [EventRecord]

    public init(events: [EventRecord]) { self.events = events }

    public func encode(to w: inout PayloadWriter) { w.write(1, events) }

    public init(from r: inout PayloadReader) throws {
        events = []
        while let tag = try r.next() {
            if tag.number == 1 { events.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}
