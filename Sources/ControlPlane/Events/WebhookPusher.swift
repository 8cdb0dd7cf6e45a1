import Foundation
import Logging
import Persistence
import WireProtocol

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Pushes the event log to a JSON webhook, in order, at least once.
///
/// Delivery reads from the log in SQLite and keeps its position (`webhook_cursor` in
/// `settings`), so a webhook that is down loses nothing: events wait in the database and
/// go out, oldest first, when it answers 2xx again. Retries back off from 0.5 s to 30 s.
/// Recording never waits for delivery. Each POST body is
/// `{"events":[{"id","ts","kind","subject","message","actor"}]}`; ids let the receiver
/// drop a batch it has already seen after a retry.
struct WebhookPusher: Sendable {
    let url: URL
    let database: BerthDatabase
    let log: EventLog
    let logger: Logger
    var batchSize = 100
    var requestTimeout: TimeInterval = 10

    static let cursorKey = "webhook_cursor"

    func run() async {
        var seen = await log.generation
        var cursor: Int64
        do {
            if let stored = try await database.setting(Self.cursorKey), let value = Int64(stored) {
                cursor = value
            } else {
                // A newly configured webhook starts with the events from now on.
                cursor = try await database.lastEventID()
                try await database.setSetting(Self.cursorKey, String(cursor))
            }
        } catch {
            logger.error("webhook: cannot read its position; not delivering", metadata: ["error": "\(error)"])
            return
        }
        var backoff: Duration = .milliseconds(500)
        while !Task.isCancelled {
            let batch: [EventLogRow]
            do {
                batch = try await database.events(afterID: cursor, limit: batchSize)
            } catch {
                try? await Task.sleep(for: backoff)
                continue
            }
            if batch.isEmpty {
                // Nothing new: sleep until the log writes again (no polling).
                seen = await log.waitForWrite(after: seen)
                continue
            }
            if await deliver(batch) {
                cursor = batch.last?.id ?? cursor
                try? await database.setSetting(Self.cursorKey, String(cursor))
                backoff = .milliseconds(500)
            } else {
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    /// One POST; `true` on a 2xx answer.
    func deliver(_ batch: [EventLogRow]) async -> Bool {
        let events: [[String: Any]] = batch.map {
            [
                "id": $0.id ?? 0,
                "ts": Self.timestamp(micros: $0.ts),
                "kind": $0.kind,
                "subject": $0.subject,
                "message": $0.message,
                "actor": $0.actor,
            ]
        }
        var request = URLRequest(url: url, timeoutInterval: requestTimeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try? JSONSerialization.data(withJSONObject: ["events": events], options: [.sortedKeys])
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if (200..<300).contains(status) { return true }
            logger.warning("webhook refused events", metadata: ["status": "\(status)", "count": "\(batch.count)"])
        } catch {
            logger.warning("webhook unreachable", metadata: ["error": "\(error)"])
        }
        return false
    }

    static func timestamp(micros: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(micros) / 1_000_000))
    }
}
