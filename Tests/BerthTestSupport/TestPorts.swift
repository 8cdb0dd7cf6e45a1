import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Free loopback ports for servers that a test restarts on the same port.
///
/// A port the kernel hands out for port 0 lies in the ephemeral range, which is also where
/// every outgoing connection's local port comes from. While a control plane restarts, one of
/// the thousands of connections the suite opens can take its port, and the new listener
/// cannot bind. A port below that range is never handed out that way.
public enum TestPorts {
    /// A port below the ephemeral range that nothing is bound to now.
    public static func freeOutsideEphemeralRange() -> Int {
        let low = ephemeralLow()
        let floor = min(20_000, low / 2)
        for _ in 0..<200 {
            let port = Int.random(in: floor..<low)
            if isFree(port) { return port }
        }
        return 0
    }

    static func ephemeralLow() -> Int {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        return range.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
    }

    /// Whether a listener can bind 127.0.0.1:`port` now.
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
