/// One sample of the fleet, taken every ``FleetHistory`` interval by the control plane.
public struct FleetSample: WireCodable, Equatable {
    public var tsMicros: Int = 0
    /// Live instances by Anka state name (`Scheduling`, `Pulling`, `Started`, ...).
    public var instancesByState: [String: Int] = [:]
    /// Unplaced `Scheduling` instances.
    public var queueLength: Int = 0
    /// How long the instances in the queue have waited, on average and at most.
    public var queueWaitAverageMillis: Int = 0
    public var queueWaitMaxMillis: Int = 0
    /// Instance slots used and offered by active nodes.
    public var capacityUsed: Int = 0
    public var capacityTotal: Int = 0
    /// Average CPU and RAM utilisation of active nodes, 0...1.
    public var cpuUtil: Double = 0
    public var ramUtil: Double = 0
    public var activeNodes: Int = 0
    /// Every enrolled node, connected or not.
    public var enrolledNodes: Int = 0

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, tsMicros)
        for (state, count) in instancesByState.sorted(by: { $0.key < $1.key }) {
            w.write(2, StateCount(state: state, count: count))
        }
        w.write(3, queueLength)
        w.write(4, queueWaitAverageMillis)
        w.write(5, queueWaitMaxMillis)
        w.write(6, capacityUsed)
        w.write(7, capacityTotal)
        w.write(8, cpuUtil)
        w.write(9, ramUtil)
        w.write(10, activeNodes)
        w.write(11, enrolledNodes)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: tsMicros = try r.int(tag)
            case 2:
                let entry: StateCount = try r.message(tag)
                instancesByState[entry.state] = entry.count
            case 3: queueLength = try r.int(tag)
            case 4: queueWaitAverageMillis = try r.int(tag)
            case 5: queueWaitMaxMillis = try r.int(tag)
            case 6: capacityUsed = try r.int(tag)
            case 7: capacityTotal = try r.int(tag)
            case 8: cpuUtil = try r.double(tag)
            case 9: ramUtil = try r.double(tag)
            case 10: activeNodes = try r.int(tag)
            case 11: enrolledNodes = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }

    struct StateCount: WireCodable, Equatable {
        var state = ""
        var count = 0

        init(state: String, count: Int) {
            self.state = state
            self.count = count
        }

        func encode(to w: inout PayloadWriter) {
            w.write(1, state)
            w.write(2, count)
        }

        init(from r: inout PayloadReader) throws {
            while let tag = try r.next() {
                switch tag.number {
                case 1: state = try r.string(tag)
                case 2: count = try r.int(tag)
                default: try r.skip(tag)
                }
            }
        }
    }
}

/// Answer of ``RPCCatalog/fleetHistory``: samples, oldest first, the current one last.
public struct FleetHistory: WireCodable, Equatable {
    public var samples: [FleetSample]

    public init(samples: [FleetSample]) { self.samples = samples }

    public func encode(to w: inout PayloadWriter) { w.write(1, samples) }

    public init(from r: inout PayloadReader) throws {
        samples = []
        while let tag = try r.next() {
            if tag.number == 1 { samples.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}

/// Body and answer of ``RPCCatalog/watchFleet``: a long poll on the fleet's change counter.
///
/// The call returns once the counter passes `sequence` (at once if it already has), or
/// after `timeoutMillis`; the answer carries the counter's value then.
public struct FleetWatch: WireCodable, Equatable {
    public var sequence: Int = 0
    public var timeoutMillis: Int = 0

    public init(sequence: Int = 0, timeoutMillis: Int = 0) {
        self.sequence = sequence
        self.timeoutMillis = timeoutMillis
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, sequence)
        w.write(2, timeoutMillis)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: sequence = try r.int(tag)
            case 2: timeoutMillis = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Body of ``RPCCatalog/portalSession``: how long the dashboard session should last.
public struct PortalSessionRequest: WireCodable, Equatable {
    public var ttlSeconds: Int = 0

    public init(ttlSeconds: Int) { self.ttlSeconds = ttlSeconds }

    public func encode(to w: inout PayloadWriter) { w.write(1, ttlSeconds) }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            if tag.number == 1 { ttlSeconds = try r.int(tag) } else { try r.skip(tag) }
        }
    }
}

/// Answer of ``RPCCatalog/portalSession``: a TAP session for the same key, and when it ends.
public struct PortalSessionGrant: WireCodable, Equatable {
    public var session: TAPSession
    public var expiresMicros: Int

    public init(session: TAPSession, expiresMicros: Int) {
        self.session = session
        self.expiresMicros = expiresMicros
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, session)
        w.write(2, expiresMicros)
    }

    public init(from r: inout PayloadReader) throws {
        var session = TAPSession(userName: "", token: "", sessionID: "")
        var expires = 0
        while let tag = try r.next() {
            switch tag.number {
            case 1: session = try r.message(tag)
            case 2: expires = try r.int(tag)
            default: try r.skip(tag)
            }
        }
        self.init(session: session, expiresMicros: expires)
    }
}

/// One entry of an instance's state history.
public struct InstanceTransition: WireCodable, Equatable {
    public var state: String = ""
    public var message: String = ""
    public var tsMicros: Int = 0

    public init(state: String, message: String, tsMicros: Int) {
        self.state = state
        self.message = message
        self.tsMicros = tsMicros
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, state)
        w.write(2, message)
        w.write(3, tsMicros)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: state = try r.string(tag)
            case 2: message = try r.string(tag)
            case 3: tsMicros = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer of ``RPCCatalog/instanceHistory``: the instance's states, oldest first.
public struct InstanceHistory: WireCodable, Equatable {
    public var transitions: [InstanceTransition]

    public init(transitions: [InstanceTransition]) { self.transitions = transitions }

    public func encode(to w: inout PayloadWriter) { w.write(1, transitions) }

    public init(from r: inout PayloadReader) throws {
        transitions = []
        while let tag = try r.next() {
            if tag.number == 1 { transitions.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}

/// Answer of ``RPCCatalog/portalSecret``: the deployment's cookie-signing secret, made once
/// by the control plane and shared by every gateway.
public struct PortalSecret: WireCodable, Equatable {
    public var secret: [UInt8] = []

    public init(secret: [UInt8]) { self.secret = secret }

    public func encode(to w: inout PayloadWriter) { w.write(1, bytes: secret) }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            if tag.number == 1 { secret = try r.bytes(tag) } else { try r.skip(tag) }
        }
    }
}
