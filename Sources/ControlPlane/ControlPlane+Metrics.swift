import Foundation
import Persistence
import Telemetry

extension ControlPlane {
    /// Brings the scraped series up to date and returns the Prometheus text exposition.
    ///
    /// The fleet's state is read from memory in one pass on the fleet; the registry's
    /// totals and the webhook's position are two small queries.
    public func scrapeMetrics() async -> [UInt8] {
        await fleet.refreshMetrics()
        let statistics = admission.statistics
        let newFailures = reportedHandshakeFailures.withLock { reported in
            defer { reported = statistics.handshakeFailures }
            return statistics.handshakeFailures - reported
        }
        if newFailures > 0 { metrics.handshakeFailures.increment(by: newFailures) }
        metrics.unauthenticated.record(statistics.unauthenticated)
        metrics.tunnelsOpen.record(openTunnels)
        metrics.caExpiry.record(authority.certificate.notValidAfter.timeIntervalSince1970)
        if configuration.eventWebhook != nil,
            let cursor = try? await database.setting(WebhookPusher.cursorKey).flatMap({ Int64($0) }),
            let last = try? await database.lastEventID()
        {
            metrics.webhookBacklog.record(max(0, last - cursor))
        } else {
            metrics.webhookBacklog.record(0)
        }
        if let disk = try? await fleet.registry.disk() {
            metrics.registryFigures[.storedBytes]?.record(disk.storedBytes)
            metrics.registryFigures[.logicalBytes]?.record(disk.logicalBytes)
            metrics.registryFigures[.chunks]?.record(disk.chunkCount)
            metrics.registryFigures[.diskTotalBytes]?.record(disk.totalBytes)
            metrics.registryFigures[.diskFreeBytes]?.record(disk.freeBytes)
        }
        if let templates = try? await database.templates(), let versions = try? await database.allTemplateVersions() {
            metrics.registryFigures[.templates]?.record(templates.count)
            var bytes: [(labels: [String], value: Double)] = []
            var tags: [(labels: [String], value: Double)] = []
            var tagBytes: [(labels: [String], value: Double)] = []
            for template in templates {
                let own = versions[template.id] ?? []
                bytes.append(([template.id, template.name], Double(own.reduce(0) { $0 + $1.size })))
                tags.append(([template.id, template.name], Double(own.count)))
                for version in own { tagBytes.append(([template.id, template.name, version.tag], Double(version.size))) }
            }
            metrics.templateBytes.update(bytes)
            metrics.templateTags.update(tags)
            metrics.templateTagBytes.update(tagBytes)
        }
        return metrics.registry.exposition()
    }
}
