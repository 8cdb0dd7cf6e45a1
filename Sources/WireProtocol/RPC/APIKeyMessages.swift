/// Body of ``RPCCatalog/createAPIKey``.
public struct APIKeyCreateRequest: WireCodable, Equatable {
    public var id: String = ""
    /// Lifetime of the key itself, in seconds.
    public var ttlSeconds: Int = 0
    public var groups: [String] = []
    /// SubjectPublicKeyInfo DER; empty asks the server to generate a key pair.
    public var publicKeyDER: [UInt8] = []

    public init(id: String, ttlSeconds: Int, groups: [String], publicKeyDER: [UInt8] = []) {
        self.id = id
        self.ttlSeconds = ttlSeconds
        self.groups = groups
        self.publicKeyDER = publicKeyDER
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, ttlSeconds)
        w.write(3, groups)
        w.write(4, bytes: publicKeyDER)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: ttlSeconds = try r.int(tag)
            case 3: groups.append(try r.string(tag))
            case 4: publicKeyDER = try r.bytes(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer to ``RPCCatalog/createAPIKey``: the generated private key (PKCS#1 DER), if the
/// server made the pair. It is not kept anywhere.
public struct APIKeyCreated: WireCodable, Equatable {
    public var privateKeyDER: [UInt8]

    public init(privateKeyDER: [UInt8]) { self.privateKeyDER = privateKeyDER }

    public func encode(to w: inout PayloadWriter) { w.write(1, bytes: privateKeyDER) }

    public init(from r: inout PayloadReader) throws {
        privateKeyDER = []
        while let tag = try r.next() {
            if tag.number == 1 { privateKeyDER = try r.bytes(tag) } else { try r.skip(tag) }
        }
    }
}

/// One key as listed: never any key material.
public struct APIKeyRecord: WireCodable, Equatable {
    public var id: String = ""
    public var groups: [String] = []
    public var createdMicros: Int = 0
    public var expiresMicros: Int = 0

    public init(id: String, groups: [String], createdMicros: Int, expiresMicros: Int) {
        self.id = id
        self.groups = groups
        self.createdMicros = createdMicros
        self.expiresMicros = expiresMicros
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, groups)
        w.write(3, createdMicros)
        w.write(4, expiresMicros)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: groups.append(try r.string(tag))
            case 3: createdMicros = try r.int(tag)
            case 4: expiresMicros = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer to ``RPCCatalog/listAPIKeys``.
public struct APIKeyList: WireCodable, Equatable {
    public var keys: [APIKeyRecord]

    public init(keys: [APIKeyRecord]) { self.keys = keys }

    public func encode(to w: inout PayloadWriter) { w.write(1, keys) }

    public init(from r: inout PayloadReader) throws {
        keys = []
        while let tag = try r.next() {
            if tag.number == 1 { keys.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}

/// Body of ``RPCCatalog/updateAPIKey``: new groups, and optionally a new lifetime from now.
public struct APIKeyUpdateRequest: WireCodable, Equatable {
    public var id: String = ""
    public var groups: [String] = []
    public var ttlSeconds: Int?

    public init(id: String, groups: [String], ttlSeconds: Int? = nil) {
        self.id = id
        self.groups = groups
        self.ttlSeconds = ttlSeconds
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, groups)
        w.write(3, ttlSeconds)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: groups.append(try r.string(tag))
            case 3: ttlSeconds = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer to ``RPCCatalog/tapHand``: the secret encrypted to the key, as standard base64.
public struct TAPChallenge: WireCodable, Equatable {
    public var encryptedSecretBase64: String

    public init(encryptedSecretBase64: String) { self.encryptedSecretBase64 = encryptedSecretBase64 }

    public func encode(to w: inout PayloadWriter) { w.write(1, encryptedSecretBase64) }

    public init(from r: inout PayloadReader) throws {
        encryptedSecretBase64 = ""
        while let tag = try r.next() {
            if tag.number == 1 { encryptedSecretBase64 = try r.string(tag) } else { try r.skip(tag) }
        }
    }
}

/// Body of ``RPCCatalog/tapShake``.
public struct TAPShakeRequest: WireCodable, Equatable {
    public var id: String
    public var secret: String

    public init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, secret)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(id: "", secret: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: secret = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer to ``RPCCatalog/tapShake``: the session a client then presents as its bearer.
public struct TAPSession: WireCodable, Equatable {
    public var userName: String
    public var token: String
    public var sessionID: String

    public init(userName: String, token: String, sessionID: String) {
        self.userName = userName
        self.token = token
        self.sessionID = sessionID
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, userName)
        w.write(2, token)
        w.write(3, sessionID)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(userName: "", token: "", sessionID: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: userName = try r.string(tag)
            case 2: token = try r.string(tag)
            case 3: sessionID = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
