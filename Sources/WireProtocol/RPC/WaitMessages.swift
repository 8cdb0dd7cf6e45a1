/// Body of ``RPCCatalog/waitInstance``.
public struct WaitInstanceRequest: WireCodable, Equatable {
    public var instanceID: String = ""
    /// Any of these states ends the wait.
    public var states: [InstanceState] = []
    public var timeoutMillis: Int = 0

    public init(instanceID: String, states: [InstanceState], timeoutMillis: Int) {
        self.instanceID = instanceID
        self.states = states
        self.timeoutMillis = timeoutMillis
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instanceID)
        for state in states { w.write(2, state) }
        w.write(3, timeoutMillis)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: instanceID = try r.string(tag)
            case 2: states.append(try r.enumeration(tag))
            case 3: timeoutMillis = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer of ``RPCCatalog/waitInstance``: the instance as the wait ended, and why it ended.
public struct WaitInstanceResult: WireCodable, Equatable {
    public enum Outcome: UInt8, Sendable {
        /// The instance is in one of the wanted states.
        case reached = 1
        /// Time ran out.
        case timedOut = 2
        /// The instance ended (Terminated or Error) in a state nobody waited for.
        case ended = 3
    }

    public var outcome: Outcome
    public var instance: InstanceRecord

    public init(outcome: Outcome, instance: InstanceRecord) {
        self.outcome = outcome
        self.instance = instance
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, outcome)
        w.write(2, instance)
    }

    public init(from r: inout PayloadReader) throws {
        var outcome: Outcome = .timedOut
        var instance = InstanceRecord()
        while let tag = try r.next() {
            switch tag.number {
            case 1: outcome = try r.enumeration(tag)
            case 2: instance = try r.message(tag)
            default: try r.skip(tag)
            }
        }
        self.outcome = outcome
        self.instance = instance
    }
}
