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

/// Stack memory a payload is first encoded into; larger payloads move to the heap.
let scratchSize = 1024

extension WireEncodable {
    /// Encodes this value into scratch memory, then hands the writer to `body`.
    @inline(__always)
    func withEncoded<R>(headroom: Int = 0, _ body: (borrowing PayloadWriter) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: scratchSize) { scratch in
            var writer = PayloadWriter(scratch: scratch)
            writer.reserve(headroom)
            writer.skip(headroom)
            encode(to: &writer)
            return body(writer)
        }
    }

    /// The payload bytes of this value (without a frame header).
    public func encodedPayload(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        withEncoded { writer in
            var buffer = allocator.buffer(capacity: writer.count)
            buffer.writeBytes(writer.writtenBytes)
            return buffer
        }
    }

    /// The payload as plain bytes, for nesting as an opaque body (RPC payloads).
    public func encodedBytes() -> [UInt8] {
        withEncoded { writer in Array(writer.writtenBytes) }
    }
}

extension WireDecodable {
    /// Decodes a value from a complete payload.
    @inlinable
    public init(payload: ByteBuffer) throws {
        self = try payload.withUnsafeReadableBytes { raw in
            var reader = PayloadReader(raw)
            return try Self(from: &reader)
        }
    }

    /// Decodes a value from bytes in memory the caller holds for the call.
    @inlinable
    public init(unsafeBytes raw: UnsafeRawBufferPointer) throws {
        var reader = PayloadReader(raw)
        self = try Self(from: &reader)
    }

    /// Decodes a value from opaque bytes (RPC bodies).
    @inlinable
    public init(bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { raw in
            var reader = PayloadReader(raw)
            return try Self(from: &reader)
        }
    }
}

extension WireMessage {
    /// Wraps this message in a frame.
    ///
    /// The header is written in front of the payload, in the same buffer, so the frame goes
    /// on the wire without another copy (see ``Frame/wireBytes(allocator:)``).
    public func frame(streamID: UInt32 = 0, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> Frame {
        withEncoded(headroom: Frame.headerSize) { writer in
            Frame.writeHeader(
                into: UnsafeMutableRawPointer(writer.base),
                length: writer.count - Frame.headerSize,
                type: Self.messageType,
                streamID: streamID
            )
            var wire = allocator.buffer(capacity: writer.count)
            wire.writeBytes(writer.writtenBytes)
            return Frame(type: Self.messageType, streamID: streamID, wire: wire)
        }
    }
}
