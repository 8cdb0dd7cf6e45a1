/// The Anka instance states, with their wire values.
///
/// `Scheduling → Pulling → Started → Stopping → Stopped`, `Pushing` (save image),
/// `Error`, `Terminating → Terminated`. ``description`` is the Anka spelling.
public enum InstanceState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case scheduling = 1
    case pulling = 2
    case started = 3
    case stopping = 4
    case stopped = 5
    case terminating = 6
    case terminated = 7
    case error = 8
    case pushing = 9

    public var description: String {
        switch self {
        case .scheduling: "Scheduling"
        case .pulling: "Pulling"
        case .started: "Started"
        case .stopping: "Stopping"
        case .stopped: "Stopped"
        case .terminating: "Terminating"
        case .terminated: "Terminated"
        case .error: "Error"
        case .pushing: "Pushing"
        }
    }

    /// Parses the Anka spelling (case-insensitive).
    public init?(ankaName: String) {
        // The exact spelling first (every stored state): no lowercasing on the hot path.
        if let exact = Self.allCases.first(where: { $0.description == ankaName }) {
            self = exact
            return
        }
        let lowered = ankaName.lowercased()
        guard let match = Self.allCases.first(where: { $0.description.lowercased() == lowered }) else {
            return nil
        }
        self = match
    }
}
