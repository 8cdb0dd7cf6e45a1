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
        var writer = PayloadWriter(capacity: 1024)
        encode(to: &writer)
        var buffer = allocator.buffer(capacity: writer.bytes.count)
        buffer.writeBytes(writer.bytes)
        return buffer
    }

    /// The payload as plain bytes, for nesting as an opaque body (RPC payloads).
    public func encodedBytes() -> [UInt8] {
        var writer = PayloadWriter()
        encode(to: &writer)
        return writer.bytes
    }
}

extension WireDecodable {
    /// Decodes a value from a complete payload.
    public init(payload: ByteBuffer) throws {
        self = try payload.withUnsafeReadableBytes { raw in
            var reader = PayloadReader(raw)
            return try Self(from: &reader)
        }
    }

    /// Decodes a value from bytes in memory the caller holds for the call.
    public init(unsafeBytes raw: UnsafeRawBufferPointer) throws {
        var reader = PayloadReader(raw)
        self = try Self(from: &reader)
    }

    /// Decodes a value from opaque bytes (RPC bodies).
    public init(bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { raw in
            var reader = PayloadReader(raw)
            return try Self(from: &reader)
        }
    }
}

extension WireMessage {
    /// Wraps this message in a frame.
    public func frame(streamID: UInt32 = 0, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> Frame {
        Frame(type: Self.messageType, streamID: streamID, payload: encodedPayload(allocator: allocator))
    }
}
