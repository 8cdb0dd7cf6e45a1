import Persistence
import WireProtocol

/// The templates a node holds, stored wire-encoded in the node's row.
struct TemplateSet: WireCodable, Equatable {
    var templates: [TemplateRef]

    init(_ templates: [TemplateRef]) { self.templates = templates }

    init(bytes: [UInt8]?) {
        guard let bytes, let decoded = try? TemplateSet(bytes: bytes) else {
            self.templates = []
            return
        }
        self = decoded
    }

    func encode(to w: inout PayloadWriter) { w.write(1, templates) }

    init(from r: inout PayloadReader) throws {
        templates = []
        while let tag = try r.next() {
            if tag.number == 1 { templates.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}

extension TemplateRef {
    /// The version this names, as storage keys pulls by it.
    var versionKey: TemplateVersionKey { TemplateVersionKey(templateID: templateID, tag: tag) }
}
