import Metrics
import Synchronization
import Telemetry
import WireProtocol

/// The control plane's series: recorded where things happen (RPCs, placements, commits)
/// and, for the fleet's state, set when scraped (``Fleet/refreshMetrics()``).
///
/// Names follow Prometheus's conventions (`_seconds`, `_bytes`, `_total`). The facts the
/// Anka Prometheus exporter publishes are all here under Berth's names (docs/operations.md
/// has the table), so a dashboard built on the exporter can move over query by query.
public final class ControlPlaneMetrics: Sendable {
    public let registry: MetricsRegistry

    // Recorded as they happen.
    let queueWait: CoreMetrics.Timer
    let placementPass: CoreMetrics.Timer
    let placements: CoreMetrics.Counter
    let handshakeFailures: CoreMetrics.Counter
    private let commitDuration: [StorageWriter: CoreMetrics.Timer]
    private let commitBatch: [StorageWriter: CoreMetrics.Recorder]
    /// One timer per method, made on its first call.
    private let rpcTimers = Mutex<[RPCMethod: CoreMetrics.Timer]>([:])

    // Set when scraped.
    let nodesByState: ScrapedGauges
    let instancesByState: ScrapedGauges
    let instancesByTemplate: ScrapedGauges
    let instancesByGroup: ScrapedGauges
    let groupNodes: ScrapedGauges
    let nodeState: ScrapedGauges
    let nodeGroupMembership: ScrapedGauges
    let templateBytes: ScrapedGauges
    let templateTags: ScrapedGauges
    let templateTagBytes: ScrapedGauges
    let nodeFigures: [NodeFigure: ScrapedGauges]
    let queueLength: CoreMetrics.Gauge
    let queueOldest: CoreMetrics.Gauge
    let connections: ScrapedGauges
    let unauthenticated: CoreMetrics.Gauge
    let tunnelsOpen: CoreMetrics.Gauge
    let webhookBacklog: CoreMetrics.Gauge
    let registryFigures: [RegistryFigure: CoreMetrics.Gauge]
    let caExpiry: CoreMetrics.Gauge

    /// Who committed a batch: the fleet's journal (state changes) or the instance creator.
    enum StorageWriter: String, CaseIterable, Sendable {
        case journal, instances
    }

    /// A per-node figure, labelled by node id and name.
    enum NodeFigure: String, CaseIterable, Sendable {
        case instances = "berth_node_instances"
        case capacity = "berth_node_instance_capacity"
        case cpuCores = "berth_node_cpu_cores"
        case cpuUtilization = "berth_node_cpu_utilization"
        case ramBytes = "berth_node_ram_bytes"
        case ramUtilization = "berth_node_ram_utilization"
        case vcpusUsed = "berth_node_virtual_cpus_used"
        case vramUsedBytes = "berth_node_virtual_ram_used_bytes"
        case diskTotalBytes = "berth_node_disk_total_bytes"
        case diskFreeBytes = "berth_node_disk_free_bytes"
        case templateCacheBytes = "berth_node_template_cache_bytes"
    }

    enum RegistryFigure: String, CaseIterable, Sendable {
        case storedBytes = "berth_registry_stored_bytes"
        case logicalBytes = "berth_registry_logical_bytes"
        case chunks = "berth_registry_chunks"
        case diskTotalBytes = "berth_registry_disk_total_bytes"
        case diskFreeBytes = "berth_registry_disk_free_bytes"
        case templates = "berth_registry_templates"
    }

    /// Every family the control plane exposes.
    public static let descriptions: [MetricDescription] = [
        .init("berth_rpc_duration_seconds", .durationHistogram(MetricDescription.latencyBuckets), labels: ["method"],
              help: "Time to answer a gateway's RPC, by method."),
        .init("berth_rpc_errors_total", .counter, labels: ["method", "status"],
              help: "RPCs answered with an error, by method and wire status."),
        .init("berth_queue_wait_seconds", .durationHistogram(MetricDescription.waitBuckets),
              help: "Time an instance waited in the queue, from its start request to its placement."),
        .init("berth_placement_pass_duration_seconds", .durationHistogram(MetricDescription.latencyBuckets),
              help: "Time one scheduling pass took to place what it could."),
        .init("berth_placements_total", .counter, help: "Instances placed on nodes."),
        .init("berth_storage_commit_duration_seconds", .durationHistogram(MetricDescription.latencyBuckets),
              labels: ["writer"], help: "Time to commit one batch of changes to storage, by writer."),
        .init("berth_storage_commit_batch_size", .valueHistogram([1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]),
              labels: ["writer"], help: "Changes in one committed batch, by writer."),
        .init("berth_tls_handshake_failures_total", .counter,
              help: "Connections to the control plane that closed before their TLS handshake finished."),
        .init("berth_nodes", .gauge, labels: ["state"], help: "Enrolled nodes by state."),
        .init("berth_instances", .gauge, labels: ["state"], help: "Instances by state (Terminated ones until purged)."),
        .init("berth_instances_by_template", .gauge, labels: ["state", "template_uuid"],
              help: "Instances by state and template."),
        .init("berth_instances_by_group", .gauge, labels: ["state", "group_uuid"],
              help: "Instances by state and node group they were started in."),
        .init("berth_group_nodes", .gauge, labels: ["group_uuid", "group_name", "state"],
              help: "Nodes in each node group, by state."),
        .init("berth_node_state", .gauge, labels: ["id", "name", "arch", "state"],
              help: "1 for each node, labelled with its current state and architecture."),
        .init("berth_node_group_membership", .gauge, labels: ["id", "group_uuid", "group_name"],
              help: "1 for each node in each node group: join on id to sum a node figure per group."),
        .init("berth_registry_template_bytes", .gauge, labels: ["template_uuid", "template_name"],
              help: "Bytes of all of a template's versions in the registry."),
        .init("berth_registry_template_tags", .gauge, labels: ["template_uuid", "template_name"],
              help: "Versions (tags) of a template in the registry."),
        .init("berth_registry_template_tag_bytes", .gauge, labels: ["template_uuid", "template_name", "tag"],
              help: "Bytes of one version (tag) of a template in the registry."),
        .init("berth_queue_length", .gauge, help: "Instances waiting to be placed."),
        .init("berth_queue_oldest_wait_seconds", .gauge, help: "How long the oldest waiting instance has waited."),
        .init(NodeFigure.instances.rawValue, .gauge, labels: ["id", "name"], help: "Live instances placed on the node."),
        .init(NodeFigure.capacity.rawValue, .gauge, labels: ["id", "name"], help: "Instance slots on the node."),
        .init(NodeFigure.cpuCores.rawValue, .gauge, labels: ["id", "name"], help: "CPU cores of the node."),
        .init(NodeFigure.cpuUtilization.rawValue, .gauge, labels: ["id", "name"],
              help: "CPU utilisation of the node, 0 to 1, as last reported."),
        .init(NodeFigure.ramBytes.rawValue, .gauge, labels: ["id", "name"], help: "RAM of the node."),
        .init(NodeFigure.ramUtilization.rawValue, .gauge, labels: ["id", "name"],
              help: "RAM utilisation of the node, 0 to 1, as last reported."),
        .init(NodeFigure.vcpusUsed.rawValue, .gauge, labels: ["id", "name"],
              help: "Virtual CPUs the node's live instances were given."),
        .init(NodeFigure.vramUsedBytes.rawValue, .gauge, labels: ["id", "name"],
              help: "Virtual RAM the node's live instances were given."),
        .init(NodeFigure.diskTotalBytes.rawValue, .gauge, labels: ["id", "name"], help: "Disk size of the node."),
        .init(NodeFigure.diskFreeBytes.rawValue, .gauge, labels: ["id", "name"], help: "Free disk on the node."),
        .init(NodeFigure.templateCacheBytes.rawValue, .gauge, labels: ["id", "name"],
              help: "Bytes of templates the node holds in its cache."),
        .init("berth_connections", .gauge, labels: ["role"], help: "Authenticated connections open, by role."),
        .init("berth_connections_unauthenticated", .gauge,
              help: "Connections open that have not authenticated yet (handshaking or enrolling)."),
        .init("berth_tunnels_open", .gauge, help: "VM-access tunnels open through the control plane."),
        .init("berth_webhook_backlog", .gauge, help: "Events recorded but not yet delivered to the webhook."),
        .init(RegistryFigure.storedBytes.rawValue, .gauge, help: "Bytes of template chunks the registry stores."),
        .init(RegistryFigure.logicalBytes.rawValue, .gauge,
              help: "Bytes of every template version the registry holds, before deduplication."),
        .init(RegistryFigure.chunks.rawValue, .gauge, help: "Template chunks the registry stores."),
        .init(RegistryFigure.diskTotalBytes.rawValue, .gauge, help: "Size of the file system holding the registry."),
        .init(RegistryFigure.diskFreeBytes.rawValue, .gauge, help: "Free space on the file system holding the registry."),
        .init(RegistryFigure.templates.rawValue, .gauge, help: "Templates in the registry."),
        .init("berth_ca_expiry_timestamp_seconds", .gauge, help: "When the fleet's certificate authority expires (Unix time)."),
    ]

    public init() {
        let registry = MetricsRegistry(Self.descriptions)
        self.registry = registry
        queueWait = registry.timer("berth_queue_wait_seconds")
        placementPass = registry.timer("berth_placement_pass_duration_seconds")
        placements = registry.counter("berth_placements_total")
        handshakeFailures = registry.counter("berth_tls_handshake_failures_total")
        var durations: [StorageWriter: CoreMetrics.Timer] = [:]
        var batches: [StorageWriter: CoreMetrics.Recorder] = [:]
        for writer in StorageWriter.allCases {
            durations[writer] = registry.timer("berth_storage_commit_duration_seconds", [("writer", writer.rawValue)])
            batches[writer] = registry.histogram("berth_storage_commit_batch_size", [("writer", writer.rawValue)])
        }
        commitDuration = durations
        commitBatch = batches
        func scraped(_ name: String) -> ScrapedGauges {
            ScrapedGauges(Self.descriptions.first { $0.name == name }!, in: registry)
        }
        nodesByState = scraped("berth_nodes")
        instancesByState = scraped("berth_instances")
        instancesByTemplate = scraped("berth_instances_by_template")
        instancesByGroup = scraped("berth_instances_by_group")
        groupNodes = scraped("berth_group_nodes")
        nodeState = scraped("berth_node_state")
        nodeGroupMembership = scraped("berth_node_group_membership")
        templateBytes = scraped("berth_registry_template_bytes")
        templateTags = scraped("berth_registry_template_tags")
        templateTagBytes = scraped("berth_registry_template_tag_bytes")
        connections = scraped("berth_connections")
        nodeFigures = Dictionary(uniqueKeysWithValues: NodeFigure.allCases.map { ($0, scraped($0.rawValue)) })
        queueLength = registry.gauge("berth_queue_length")
        queueOldest = registry.gauge("berth_queue_oldest_wait_seconds")
        unauthenticated = registry.gauge("berth_connections_unauthenticated")
        tunnelsOpen = registry.gauge("berth_tunnels_open")
        webhookBacklog = registry.gauge("berth_webhook_backlog")
        registryFigures = Dictionary(uniqueKeysWithValues: RegistryFigure.allCases.map { ($0, registry.gauge($0.rawValue)) })
        caExpiry = registry.gauge("berth_ca_expiry_timestamp_seconds")
    }

    /// One RPC answered: its time, and its status when not OK.
    func recordRPC(method: RPCMethod, status: RPCStatus?, duration: Duration) {
        let timer = rpcTimers.withLock { timers in
            if let timer = timers[method] { return timer }
            let timer = registry.timer("berth_rpc_duration_seconds", [("method", method.description)])
            timers[method] = timer
            return timer
        }
        timer.record(duration: duration)
        if let status {
            registry.counter("berth_rpc_errors_total", [("method", method.description), ("status", "\(status)")])
                .increment()
        }
    }

    /// One batch committed by `writer`.
    func recordCommit(_ writer: StorageWriter, changes: Int, duration: Duration) {
        commitDuration[writer]?.record(duration: duration)
        commitBatch[writer]?.record(changes)
    }
}
