import Persistence
import WireProtocol

/// Berth's wait-for-state: holds a call until an instance reaches a wanted state, ends in
/// another one, or time runs out. It listens on the event hub, so nothing polls.
struct InstanceWaiter: Sendable {
    /// The instance as the fleet holds it now.
    let current: @Sendable (String) async -> InstanceRecord?
    let events: FleetEventHub

    static let maximumTimeout: Duration = .seconds(600)

    func wait(_ request: WaitInstanceRequest) async throws -> WaitInstanceResult {
        guard !request.instanceID.isEmpty else { throw ControlPlaneError.badRequest("id is required") }
        let wanted = Set(request.states.isEmpty ? [.started] : request.states)
        let timeout = min(.milliseconds(max(0, request.timeoutMillis)), Self.maximumTimeout)
        // Subscribe before reading, so a change between the two is not missed.
        let stream = events.subscribe()
        guard let current = await current(request.instanceID) else {
            throw ControlPlaneError.notFound("No such instance \(request.instanceID)")
        }
        if let outcome = Self.outcome(of: current, wanted: wanted) {
            return WaitInstanceResult(outcome: outcome, instance: current)
        }
        let id = request.instanceID
        let lookUp = self.current
        return await withTaskGroup(of: WaitInstanceResult?.self) { group in
            group.addTask {
                for await event in stream {
                    guard case .instance(let record) = event, record.instanceID == id else { continue }
                    if let outcome = Self.outcome(of: record, wanted: wanted) {
                        return WaitInstanceResult(outcome: outcome, instance: record)
                    }
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if let first { return first }
            let latest = await lookUp(id) ?? current
            return WaitInstanceResult(outcome: .timedOut, instance: latest)
        }
    }

    static func outcome(of record: InstanceRecord, wanted: Set<InstanceState>) -> WaitInstanceResult.Outcome? {
        if wanted.contains(record.state) { return .reached }
        if record.state == .terminated || record.state == .error { return .ended }
        return nil
    }
}
