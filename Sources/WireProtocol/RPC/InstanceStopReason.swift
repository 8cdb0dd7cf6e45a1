/// Why an instance left `Started` (Berth's extension; `stop_reason` in JSON).
public enum InstanceStopReason: String, Sendable, CaseIterable {
    /// A caller terminated it (`DELETE /api/v1/vm`, an environment's destroy, a save image).
    case terminatedByUser = "terminated_by_user"
    /// Its monitored startup script failed or timed out.
    case scriptFailed = "script_failed"
    /// Its node came back without it, or was removed while it ran.
    case nodeLost = "node_lost"
    /// Its environment's lifetime ran out.
    case expired
    /// Its node reported an error, or its VM stopped on its own.
    case driverError = "driver_error"
    /// Its restart policy gave up after the most restarts it allows.
    case restartLimit = "restart_limit"
}
