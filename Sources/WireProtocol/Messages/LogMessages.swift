/// The control plane asks a node for part of an instance's log.
///
/// `offset` is a byte position; a negative one counts from the end (the Unikraft logs
/// API's convention). The node answers with one ``LogChunk`` carrying the same `requestID`.
public struct LogRequest: WireMessage, Equatable {
    public static let messageType = MessageType.logRequest

    public var requestID: UInt64
    public var instanceID: String
    public var offset: Int
    /// At most this many bytes (the node caps it at 1 MiB).
    public var limit: Int

    public init(requestID: UInt64, instanceID: String, offset: Int, limit: Int) {
        self.requestID = requestID
        self.instanceID = instanceID
        self.offset = offset
        self.limit = limit
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, requestID)
        w.write(2, instanceID)
        w.write(3, offset)
        w.write(4, limit)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(requestID: 0, instanceID: "", offset: 0, limit: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: requestID = try r.uint64(tag)
            case 2: instanceID = try r.string(tag)
            case 3: offset = try r.int(tag)
            case 4: limit = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// A node's answer to ``LogRequest``: the bytes from `offset` (absolute), and the log's size.
public struct LogChunk: WireMessage, Equatable {
    public static let messageType = MessageType.logChunk

    public var requestID: UInt64
    public var offset: Int
    public var totalSize: Int
    public var data: [UInt8]
    /// Set when there is no log (unknown instance, removed with it).
    public var error: String

    public init(requestID: UInt64, offset: Int = 0, totalSize: Int = 0, data: [UInt8] = [], error: String = "") {
        self.requestID = requestID
        self.offset = offset
        self.totalSize = totalSize
        self.data = data
        self.error = error
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, requestID)
        w.write(2, offset)
        w.write(3, totalSize)
        w.write(4, bytes: data)
        w.write(5, error)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(requestID: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: requestID = try r.uint64(tag)
            case 2: offset = try r.int(tag)
            case 3: totalSize = try r.int(tag)
            case 4: data = try r.bytes(tag)
            case 5: error = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
