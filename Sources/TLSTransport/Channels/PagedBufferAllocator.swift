#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@_spi(CustomByteBufferAllocator) import NIOCore

/// A `ByteBufferAllocator` for long-lived connections: buffers of 16 KiB or more get pages
/// of their own (`mmap`), smaller ones come from `malloc`.
///
/// NIOSSL gives every connection a 32 KiB plaintext read buffer and a 16 KiB outbound
/// buffer, allocated through the channel's allocator and kept for the connection's life.
/// An idle session writes only their first page. From `malloc` they often land on memory
/// other connections' handshakes touched and freed, so their untouched pages are resident
/// all the same; pages of their own are resident only once written. Each buffer carries a
/// 16-byte header in front (keeping `malloc`'s alignment) that says where it came from.
public enum PagedBufferAllocator {
    /// Buffers from this size up get pages of their own.
    public static let mappingThreshold = 16 * 1024

    /// The allocator; set it as a channel's `ChannelOptions.allocator`.
    public static let allocator = ByteBufferAllocator(
        allocate: { size in pagedAllocate(size) },
        reallocate: { pointer, oldSize, newSize in
            guard let pointer else { return pagedAllocate(newSize) }
            let base = pointer - headerSize
            let mapped = base.load(as: Int.self)
            if mapped == 0, newSize < PagedBufferAllocator.mappingThreshold {
                guard let grown = realloc(base, newSize + headerSize) else { return nil }
                return grown + headerSize
            }
            guard let moved = pagedAllocate(newSize) else { return nil }
            moved.copyMemory(from: pointer, byteCount: min(oldSize, newSize))
            pagedFree(pointer)
            return moved
        },
        deallocate: { pointer in pagedFree(pointer) },
        copy: { destination, source, count in destination.copyMemory(from: source, byteCount: count) }
    )
}

private let headerSize = 16

/// The header holds the mapping's length, or 0 for `malloc`'s memory.
private func pagedAllocate(_ size: Int) -> UnsafeMutableRawPointer? {
    let total = size + headerSize
    if size >= PagedBufferAllocator.mappingThreshold {
        let mapped = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { return nil }
        mapped.storeBytes(of: total, as: Int.self)
        return mapped + headerSize
    }
    guard let base = malloc(total) else { return nil }
    base.storeBytes(of: 0, as: Int.self)
    return base + headerSize
}

private func pagedFree(_ pointer: UnsafeMutableRawPointer) {
    let base = pointer - headerSize
    let mapped = base.load(as: Int.self)
    if mapped > 0 {
        munmap(base, mapped)
    } else {
        free(base)
    }
}
