/// Body of ``RPCCatalog/createJoinTokens``.
public struct JoinTokenCreateRequest: WireCodable, Equatable {
    /// How many single-use tokens to mint (1 … 1000).
    public var count: Int = 1
    /// Lifetime of each, in seconds (60 … 30 days).
    public var ttlSeconds: Int = 3600
    /// A note stored with each token, such as the hosts it is for.
    public var description: String = ""

    public init(count: Int, ttlSeconds: Int, description: String) {
        self.count = count
        self.ttlSeconds = ttlSeconds
        self.description = description
    }

    public func encode(to w: inout PayloadWriter) {
        w.writeExplicit(1, count)
        w.writeExplicit(2, ttlSeconds)
        w.write(3, description)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: count = try r.int(tag)
            case 2: ttlSeconds = try r.int(tag)
            case 3: description = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer to ``RPCCatalog/createJoinTokens``: the tokens (`<id>.<secret>`, shown this once;
/// only hashes are kept), their expiry, and the CA pin a joining node checks.
public struct JoinTokensCreated: WireCodable, Equatable {
    public var tokens: [String] = []
    public var expiresMicros: Int = 0
    /// `sha256:<hex>` of the CA certificate's public key, for `berth node join --ca-hash`.
    public var caPin: String = ""

    public init(tokens: [String], expiresMicros: Int, caPin: String) {
        self.tokens = tokens
        self.expiresMicros = expiresMicros
        self.caPin = caPin
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, tokens)
        w.write(2, expiresMicros)
        w.write(3, caPin)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: tokens.append(try r.string(tag))
            case 2: expiresMicros = try r.int(tag)
            case 3: caPin = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// One join token as listed: its id and history, never its secret.
public struct JoinTokenRecord: WireCodable, Equatable {
    public var id: String = ""
    public var description: String = ""
    /// `usable`, `used`, `expired` or `revoked`, as the control plane saw it when answering.
    public var state: String = ""
    public var createdBy: String = ""
    public var createdMicros: Int = 0
    public var expiresMicros: Int = 0
    /// 0 when unused.
    public var usedMicros: Int = 0
    /// The node it enrolled, if used.
    public var usedBy: String = ""
    /// 0 unless revoked.
    public var revokedMicros: Int = 0

    public init(
        id: String,
        description: String,
        state: String,
        createdBy: String,
        createdMicros: Int,
        expiresMicros: Int,
        usedMicros: Int = 0,
        usedBy: String = "",
        revokedMicros: Int = 0
    ) {
        self.id = id
        self.description = description
        self.state = state
        self.createdBy = createdBy
        self.createdMicros = createdMicros
        self.expiresMicros = expiresMicros
        self.usedMicros = usedMicros
        self.usedBy = usedBy
        self.revokedMicros = revokedMicros
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, description)
        w.write(3, state)
        w.write(4, createdBy)
        w.write(5, createdMicros)
        w.write(6, expiresMicros)
        w.write(7, usedMicros)
        w.write(8, usedBy)
        w.write(9, revokedMicros)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: description = try r.string(tag)
            case 3: state = try r.string(tag)
            case 4: createdBy = try r.string(tag)
            case 5: createdMicros = try r.int(tag)
            case 6: expiresMicros = try r.int(tag)
            case 7: usedMicros = try r.int(tag)
            case 8: usedBy = try r.string(tag)
            case 9: revokedMicros = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer to ``RPCCatalog/listJoinTokens``, newest first.
public struct JoinTokenList: WireCodable, Equatable {
    public var tokens: [JoinTokenRecord]

    public init(tokens: [JoinTokenRecord]) { self.tokens = tokens }

    public func encode(to w: inout PayloadWriter) { w.write(1, tokens) }

    public init(from r: inout PayloadReader) throws {
        tokens = []
        while let tag = try r.next() {
            if tag.number == 1 { tokens.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}
