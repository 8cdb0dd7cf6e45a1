import NIOCore

/// A value that can write itself as a sequence of numbered fields.
public protocol WireEncodable: Sendable {
    func encode(to writer: inout PayloadWriter)
}

/// A value that can read itself from a sequence of numbered fields, skipping unknown ones.
public protocol WireDecodable: Sendable {
    init(from reader: inout PayloadReader) throws
}

public typealias WireCodable = WireEncodable & WireDecodable

/// A top-level message: a codable payload bound to one ``MessageType``.
public protocol WireMessage: WireCodable {
    static var messageType: MessageType { get }
}

extension WireEncodable {
    /// The payload bytes of this value (without a frame header).
    public func encodedPayload(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var writer = PayloadWriter(buffer: allocator.buffer(capacity: 64))
        encode(to: &writer)
        return writer.buffer
    }

    /// The payload as plain bytes, for nesting as an opaque body (RPC payloads).
    public func encodedBytes() -> [UInt8] {
        var buffer = encodedPayload()
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}

extension WireDecodable {
    /// Decodes a value from a complete payload.
    public init(payload: ByteBuffer) throws {
        var reader = PayloadReader(buffer: payload)
        try self.init(from: &reader)
    }

    /// Decodes a value from opaque bytes (RPC bodies).
    public init(bytes: [UInt8]) throws {
        try self.init(payload: ByteBuffer(bytes: bytes))
    }
}

extension WireMessage {
    /// Wraps this message in a frame.
    public func frame(streamID: UInt32 = 0, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> Frame {
        Frame(type: Self.messageType, streamID: streamID, payload: encodedPayload(allocator: allocator))
    }
}
