import NIOCore

/// One protocol frame: a 12-byte header followed by `payload`.
///
/// Header layout (big-endian): payload length `UInt32`, ``MessageType`` `UInt16`,
/// flags `UInt16` (reserved, sent as 0, ignored on receipt), stream id `UInt32`.
/// The stream id matches RPC responses to requests; unsolicited frames use 0.
public struct Frame: Sendable, Equatable {
    /// Size of the fixed header in bytes.
    public static let headerSize = 12
    /// Default hard limit on a payload, checked from the header before any buffering.
    public static let defaultMaxPayloadSize = 4 * 1024 * 1024

    public let type: MessageType
    public let flags: UInt16
    public let streamID: UInt32
    public let payload: ByteBuffer
    /// Whether the 12 bytes just before `payload`'s reader index hold this frame's header,
    /// written when the frame was encoded (``WireMessage/frame(streamID:allocator:)``): the
    /// frame then goes on the wire as it is, without copying its payload.
    let headerPrecedesPayload: Bool

    public init(type: MessageType, flags: UInt16 = 0, streamID: UInt32 = 0, payload: ByteBuffer) {
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.payload = payload
        self.headerPrecedesPayload = false
    }

    /// A frame whose `wire` holds the header and then the payload.
    init(type: MessageType, streamID: UInt32, wire: ByteBuffer) {
        self.type = type
        self.flags = 0
        self.streamID = streamID
        var payload = wire
        payload.moveReaderIndex(forwardBy: Self.headerSize)
        self.payload = payload
        self.headerPrecedesPayload = true
    }

    /// Writes the header for a payload of `length` bytes at `header` (12 bytes).
    static func writeHeader(
        into header: UnsafeMutableRawPointer,
        length: Int,
        type: MessageType,
        flags: UInt16 = 0,
        streamID: UInt32
    ) {
        header.storeBytes(of: UInt32(truncatingIfNeeded: length).bigEndian, toByteOffset: 0, as: UInt32.self)
        header.storeBytes(of: type.rawValue.bigEndian, toByteOffset: 4, as: UInt16.self)
        header.storeBytes(of: flags.bigEndian, toByteOffset: 6, as: UInt16.self)
        header.storeBytes(of: streamID.bigEndian, toByteOffset: 8, as: UInt32.self)
    }

    /// The frame as it travels, header then payload: for an encoded frame the very bytes it
    /// was encoded into (no copy), otherwise a new buffer.
    public func wireBytes(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        if headerPrecedesPayload {
            var wire = payload
            wire.moveReaderIndex(to: payload.readerIndex - Self.headerSize)
            return wire
        }
        var buffer = allocator.buffer(capacity: Self.headerSize + payload.readableBytes)
        write(into: &buffer)
        return buffer
    }

    /// Writes header and payload into `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        if headerPrecedesPayload {
            var wire = wireBytes()
            buffer.writeBuffer(&wire)
            return
        }
        buffer.reserveCapacity(minimumWritableBytes: Self.headerSize + payload.readableBytes)
        buffer.writeInteger(UInt32(payload.readableBytes))
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(flags)
        buffer.writeInteger(streamID)
        var payload = payload
        buffer.writeBuffer(&payload)
    }

    public static func == (lhs: Frame, rhs: Frame) -> Bool {
        lhs.type == rhs.type && lhs.flags == rhs.flags && lhs.streamID == rhs.streamID && lhs.payload == rhs.payload
    }
}
