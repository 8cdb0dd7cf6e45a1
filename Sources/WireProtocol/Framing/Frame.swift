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

    public var type: MessageType
    public var flags: UInt16
    public var streamID: UInt32
    public var payload: ByteBuffer

    public init(type: MessageType, flags: UInt16 = 0, streamID: UInt32 = 0, payload: ByteBuffer) {
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.payload = payload
    }

    /// Writes header and payload into `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: Self.headerSize + payload.readableBytes)
        buffer.writeInteger(UInt32(payload.readableBytes))
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(flags)
        buffer.writeInteger(streamID)
        var payload = payload
        buffer.writeBuffer(&payload)
    }
}
