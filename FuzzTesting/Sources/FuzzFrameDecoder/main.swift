import NIOCore
import WireProtocol

/// The frame decoder on arbitrary bytes, fed whole and then in pieces whose size the first
/// byte picks (1 to 32 bytes, as TCP may deliver them): it must return frames or throw a
/// WireError, never trap, and both feeds must agree.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let raw = Array(UnsafeRawBufferPointer(start: start, count: count))
    let piece = Int(raw[0] % 32) + 1
    let bytes = Array(raw[1...])
    let pieces = stride(from: 0, to: bytes.count, by: piece).map { Array(bytes[$0..<min(bytes.count, $0 + piece)]) }
    let whole = decodeAll([bytes])
    let split = decodeAll(pieces)
    precondition(whole == split, "the decoder depends on how the bytes arrive")
    return 0
}

/// Frames decoded from `pieces`, up to the first error (with a 64 KiB payload limit).
func decodeAll(_ pieces: [[UInt8]]) -> [Frame] {
    var decoder = FrameDecoder(maxPayloadSize: 64 * 1024)
    var buffer = ByteBuffer()
    var frames: [Frame] = []
    for piece in pieces {
        buffer.writeBytes(piece)
        do {
            while let frame = try decoder.decode(buffer: &buffer) {
                frames.append(frame)
                // What was decoded must encode back to a frame the decoder accepts again.
                var again = ByteBuffer()
                frame.write(into: &again)
                var check = FrameDecoder(maxPayloadSize: 64 * 1024)
                precondition((try? check.decode(buffer: &again)) == frame, "a decoded frame does not round-trip")
            }
        } catch {
            return frames
        }
    }
    return frames
}
