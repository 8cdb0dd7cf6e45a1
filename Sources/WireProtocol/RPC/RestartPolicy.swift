/// What the control plane does when an instance's VM ends on its own or its node is lost
/// (Berth's extension; `restart_policy` on start).
public enum RestartPolicy: String, Sendable, CaseIterable {
    /// Nothing: the instance stays `Stopped` or `Error` (the default, and Anka's behaviour).
    case never
    /// Start it again whenever its VM ends, cleanly or not, or its node is lost.
    case always
    /// Start it again when its VM crashes (a non-zero exit) or its node is lost.
    case onFailure = "on_failure"

    /// How many restarts a policy makes unless the start says (`max_restarts`).
    public static let defaultMaxRestarts = 10
    /// The most `max_restarts` may ask for.
    public static let maxRestartsLimit = 1000

    /// Whether the policy restarts a VM that ended on its own; `failed` when it crashed.
    public func restarts(failed: Bool) -> Bool {
        switch self {
        case .never: false
        case .always: true
        case .onFailure: failed
        }
    }
}
