/// Opens a tunnel: a TCP stream to `port` on an instance. Sent by a gateway to the control
/// plane (with the caller's principal), and by the control plane to the instance's node
/// (with the caller's name). The frame's stream id is the tunnel's id on that connection,
/// chosen by the sender; the control plane maps one to the other.
public struct TunnelOpen: WireMessage, Equatable {
    public static let messageType = MessageType.tunnelOpen
    public var instanceID: String
    public var port: Int
    /// Bytes the far end may send towards the opener before it grants more (``TunnelWindow``).
    public var window: Int
    /// Who asks (gateway → control plane); the control plane authorizes it.
    public var principal: Principal?
    /// Who asked, by name (control plane → node), for the node's log.
    public var user: String

    public init(instanceID: String, port: Int, window: Int, principal: Principal? = nil, user: String = "") {
        self.instanceID = instanceID
        self.port = port
        self.window = window
        self.principal = principal
        self.user = user
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instanceID)
        w.write(2, port)
        w.write(3, window)
        if let principal { w.write(4, principal) }
        w.write(5, user)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(instanceID: "", port: 0, window: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: instanceID = try r.string(tag)
            case 2: port = try r.int(tag)
            case 3: window = try r.int(tag)
            case 4: principal = try r.message(tag)
            case 5: user = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// The answer to ``TunnelOpen``: open, with the window the opener may send into, or refused
/// with a reason (the tunnel is then gone).
public struct TunnelReply: WireMessage, Equatable {
    public static let messageType = MessageType.tunnelReply
    public var window: Int
    /// Empty when the tunnel is open.
    public var error: String
    /// An HTTP-like status for a refusal: 403 (permission), 404 (no such instance), 409 (not
    /// running), 429 (a cap), 502 (the instance's port refused), 503 (its node is away).
    public var status: Int

    public init(window: Int) {
        self.window = window
        self.error = ""
        self.status = 0
    }

    public init(refused error: String, status: Int) {
        self.window = 0
        self.error = error
        self.status = status
    }

    public var isOpen: Bool { error.isEmpty }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, window)
        w.write(2, error)
        w.write(3, status)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(window: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: window = try r.int(tag)
            case 2: error = try r.string(tag)
            case 3: status = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// More credit: the receiver has passed on `increment` bytes and may take that many more.
public struct TunnelWindow: WireMessage, Equatable {
    public static let messageType = MessageType.tunnelWindow
    public var increment: Int

    public init(increment: Int) { self.increment = increment }

    public func encode(to w: inout PayloadWriter) { w.write(1, increment) }

    public init(from r: inout PayloadReader) throws {
        increment = 0
        while let tag = try r.next() {
            if tag.number == 1 { increment = try r.int(tag) } else { try r.skip(tag) }
        }
    }
}

/// Ends a tunnel, from either end; the other end closes its side and sends nothing more.
public struct TunnelClose: WireMessage, Equatable {
    public static let messageType = MessageType.tunnelClose
    public var reason: String

    public init(reason: String) { self.reason = reason }

    public func encode(to w: inout PayloadWriter) { w.write(1, reason) }

    public init(from r: inout PayloadReader) throws {
        reason = ""
        while let tag = try r.next() {
            if tag.number == 1 { reason = try r.string(tag) } else { try r.skip(tag) }
        }
    }
}

/// Tunnel flow-control constants shared by every hop.
public enum TunnelLimits {
    /// The credit each end grants the other at open: the bytes in flight per direction.
    public static let window = 256 * 1024
    /// The most bytes one ``MessageType/tunnelData`` frame carries.
    public static let maxDataFrame = 32 * 1024
}

/// Body of ``RPCCatalog/createAccessToken``: a token that opens tunnels to one instance.
public struct AccessTokenRequest: WireCodable, Equatable {
    public var instanceID: String
    /// How long the token works (60 … 86400 s).
    public var ttlSeconds: Int

    public init(instanceID: String, ttlSeconds: Int) {
        self.instanceID = instanceID
        self.ttlSeconds = ttlSeconds
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instanceID)
        w.write(2, ttlSeconds)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(instanceID: "", ttlSeconds: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: instanceID = try r.string(tag)
            case 2: ttlSeconds = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer of ``RPCCatalog/createAccessToken``.
public struct AccessTokenGrant: WireCodable, Equatable {
    public var token: String
    public var expiresMicros: Int

    public init(token: String, expiresMicros: Int) {
        self.token = token
        self.expiresMicros = expiresMicros
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, token)
        w.write(2, expiresMicros)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(token: "", expiresMicros: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: token = try r.string(tag)
            case 2: expiresMicros = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
