import WireProtocol

/// The wait of an environment's create: until every member is `Started`, one of them ends
/// or fails, or the placement timeout passes (all or nothing; docs/extensions.md).
enum EnvironmentCreation {
    /// Nil when every member started; else why the create failed.
    static func waitForMembers(_ ids: [String], timeout: Duration, fleet: Fleet) async -> String? {
        let millis = Int(timeout.components.seconds * 1000)
        return await withTaskGroup(of: String?.self) { group in
            for id in ids {
                group.addTask {
                    let waiter = InstanceWaiter(current: { id in await fleet.instance(id: id) }, events: fleet.events)
                    do {
                        let result = try await waiter.wait(
                            WaitInstanceRequest(instanceID: id, states: [.started], timeoutMillis: millis)
                        )
                        switch result.outcome {
                        case .reached:
                            return nil
                        case .timedOut:
                            let reason = result.instance.waitReason.isEmpty ? "" : " (\(result.instance.waitReason))"
                            return "VM \(id) was not Started within \(timeout.components.seconds)s; it is \(result.instance.state)\(reason)"
                        case .ended:
                            let detail = result.instance.message.isEmpty ? "" : ": \(result.instance.message)"
                            return "VM \(id) is \(result.instance.state)\(detail)"
                        }
                    } catch {
                        return "VM \(id) could not be watched: \(error)"
                    }
                }
            }
            // The first failure decides; the other waits are not needed then.
            for await failure in group where failure != nil {
                group.cancelAll()
                return failure
            }
            return nil
        }
    }
}
