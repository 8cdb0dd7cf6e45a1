import WireProtocol

extension Fleet {
    /// The node a tunnel to `instanceID` goes to, with its live session; or why there is
    /// none (no such instance, not running, its node away).
    func tunnelTarget(instanceID: String) -> Result<(nodeID: String, session: PeerSession), TunnelRefusal> {
        guard let row = instances[instanceID] else {
            return .failure(TunnelRefusal(message: "No such instance \(instanceID)", status: 404))
        }
        guard row.state == InstanceState.started.description, let nodeID = row.nodeId else {
            return .failure(
                TunnelRefusal(message: "instance \(instanceID) is \(row.state), not Started", status: 409)
            )
        }
        guard let link = links[nodeID], link.ready else {
            return .failure(
                TunnelRefusal(message: "the node of instance \(instanceID) is not connected", status: 503)
            )
        }
        return .success((nodeID, link.session))
    }
}
