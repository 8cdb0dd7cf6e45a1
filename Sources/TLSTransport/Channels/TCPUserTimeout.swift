#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// `TCP_USER_TIMEOUT`: how long sent data may stay unacknowledged before the kernel aborts
/// the connection. Without it a stalled stream retransmits with exponential backoff for
/// about 15 minutes (`tcp_retries2`), holding buffers for a peer that is gone.
enum TCPUserTimeout {
    #if os(Linux)
    static let option = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: CInt(TCP_USER_TIMEOUT)))
    #else
    // Darwin's nearest: TCP_RXT_CONNDROPTIME (seconds of retransmission before the drop).
    static let option = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: CInt(0x80)))
    #endif

    /// The option's value (milliseconds on Linux, seconds on Darwin); 0 for the system default.
    static func milliseconds(_ timeout: TimeAmount?) -> SocketOptionValue {
        let millis = max(0, (timeout?.nanoseconds ?? 0) / 1_000_000)
        #if os(Linux)
        return SocketOptionValue(clamping: millis)
        #else
        return SocketOptionValue(clamping: (millis + 999) / 1000)
        #endif
    }
}
