import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Persistence
import WireProtocol

/// Pushes the event log to a JSON webhook, in order, at least once.
///
/// Delivery reads from the log in SQLite and keeps its position (`webhook_cursor` in
/// `settings`), so a webhook that is down loses nothing: events wait in the database and
/// go out, oldest first, when it answers 2xx again. Retries back off from 0.5 s to 30 s,
/// with jitter. Recording never waits for delivery. Each POST body is
/// `{"events":[{"id","ts","kind","subject","message","actor"}]}`; ids let the receiver
/// drop a batch it has already seen after a retry. With a secret, each body is signed:
/// `X-Berth-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`.
struct WebhookPusher: Sendable {
    let url: URL
    let secret: [UInt8]?
    let database: BerthDatabase
    let log: EventLog
    let logger: Logger
    var batchSize = 100
    var requestTimeout: TimeAmount = .seconds(10)

    static let cursorKey = "webhook_cursor"
    static let signatureHeader = "X-Berth-Signature"

    /// The delivery position, made if there is none yet: a newly configured webhook starts
    /// with the events after this call. The control plane calls it before it listens, so
    /// that nothing it records while serving precedes the position (it once did, when the
    /// delivery task made the position after the first events were written).
    @discardableResult
    static func startingCursor(_ database: BerthDatabase) async throws -> Int64 {
        if let stored = try await database.setting(cursorKey), let value = Int64(stored) { return value }
        let cursor = try await database.lastEventID()
        try await database.setSetting(cursorKey, String(cursor))
        return cursor
    }

    func run() async {
        var seen = await log.generation
        var cursor: Int64
        do {
            cursor = try await Self.startingCursor(database)
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
                // Up to a quarter more, so that control planes restarted together do not
                // retry in step.
                let jitter = Double.random(in: 0...0.25)
                try? await Task.sleep(for: backoff + backoff * jitter)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    /// The body of one POST.
    static func body(_ batch: [EventLogRow]) -> [UInt8] {
        let events: [[String: Any]] = batch.map {
            [
                "id": $0.id ?? 0,
                "ts": timestamp(micros: $0.ts),
                "kind": $0.kind,
                "subject": $0.subject,
                "message": $0.message,
                "actor": $0.actor,
            ]
        }
        let data = (try? JSONSerialization.data(withJSONObject: ["events": events], options: [.sortedKeys])) ?? Data()
        return Array(data)
    }

    /// `sha256=<hex>` of `body` under `secret`.
    static func signature(of body: [UInt8], secret: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// One POST; `true` on a 2xx answer.
    func deliver(_ batch: [EventLogRow]) async -> Bool {
        let body = Self.body(batch)
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "berth-webhook")
        if let secret { request.headers.add(name: Self.signatureHeader, value: Self.signature(of: body, secret: secret)) }
        request.body = .bytes(body)
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: requestTimeout)
            // Read (and drop) the answer, so the connection can be used again.
            _ = try? await response.body.collect(upTo: 64 << 10)
            if (200..<300).contains(Int(response.status.code)) { return true }
            logger.warning("webhook refused events", metadata: ["status": "\(response.status.code)", "count": "\(batch.count)"])
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
