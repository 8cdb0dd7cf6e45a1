import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One process's CPU time and resident memory, read from Linux's `/proc`.
struct ProcessUsage {
    /// User plus system CPU time, in clock ticks (``ticksPerSecond``).
    var cpuTicks: Int
    var residentBytes: Int

    static let ticksPerSecond = max(1, Int(sysconf(Int32(_SC_CLK_TCK))))
    static let pageSize = max(1, Int(sysconf(Int32(_SC_PAGESIZE))))

    /// The figures of `pid`, or nil when it is gone (or this is not Linux).
    static func read(pid: Int32) -> ProcessUsage? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let statm = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8)
        else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces: count from after it.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        let pages = statm.split(separator: " ")
        guard pages.count > 1, let resident = Int(pages[1]) else { return nil }
        return ProcessUsage(cpuTicks: user + system, residentBytes: resident * pageSize)
    }
}
