import WireProtocol

/// A node group in Anka's shape: `description` always a string, `fallback_group_id` `null`
/// when there is none.
struct GroupJSON: Encodable {
    let record: GroupRecord

    init(_ record: GroupRecord) { self.record = record }

    enum CodingKeys: String, CodingKey { case id, name, description, fallbackGroupID = "fallback_group_id" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(record.id, forKey: .id)
        try c.encode(record.name, forKey: .name)
        try c.encode(record.description, forKey: .description)
        if let fallback = record.fallbackGroupID {
            try c.encode(fallback, forKey: .fallbackGroupID)
        } else {
            try c.encodeNil(forKey: .fallbackGroupID)
        }
    }
}
