import NIOCore
import Synchronization
import TLSTransport

/// Limits guesses of the root token, per source address.
///
/// After ``Limits/failures`` wrong root tokens from one address within ``Limits/window``
/// seconds, that address gets 429 for ``Limits/lockout`` seconds on every attempt with a
/// root token, right or wrong. Other addresses are not affected, so an attacker cannot lock
/// out an operator elsewhere. Thread-safe; held in memory per gateway.
final class RootTokenGuesses: Sendable {
    struct Limits: Sendable {
        var failures = 10
        var window: Double = 60
        var lockout: Double = 300
    }

    struct Entry {
        var failures: Int
        var windowStart: NIODeadline
        var lockedUntil: NIODeadline?
    }

    let limits: Limits
    private let entries = Mutex<[String: Entry]>([:])
    static let maxSources = 100_000

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Seconds until `source` may try again, or `nil` when it may try now.
    func lockedFor(_ source: String, now: NIODeadline = .now()) -> Int? {
        entries.withLock { entries in
            guard let until = entries[source]?.lockedUntil else { return nil }
            guard until > now else {
                entries[source] = nil
                return nil
            }
            return max(1, Int((until - now).nanoseconds / 1_000_000_000))
        }
    }

    /// Records a wrong root token from `source`.
    func recordFailure(_ source: String, now: NIODeadline = .now()) {
        entries.withLock { entries in
            if entries.count >= Self.maxSources {
                entries = entries.filter { $0.value.lockedUntil.map { $0 > now } ?? false }
            }
            var entry = entries[source] ?? Entry(failures: 0, windowStart: now, lockedUntil: nil)
            if now - entry.windowStart > .milliseconds(Int64(limits.window * 1000)) {
                entry = Entry(failures: 0, windowStart: now, lockedUntil: nil)
            }
            entry.failures += 1
            if entry.failures >= limits.failures {
                entry.lockedUntil = now + .milliseconds(Int64(limits.lockout * 1000))
            }
            entries[source] = entry
        }
    }

    /// The source address of a connection: its IP, without the port.
    static func source(of channel: any Channel) -> String { ConnectionAdmission.source(of: channel) }
}
