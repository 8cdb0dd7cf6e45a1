import NIOCore
import WireProtocol

/// Every message family's payload reader on arbitrary bytes. The first byte picks the
/// family (as a frame's type would); the rest is the payload. A reader must decode or
/// throw, never trap; what it decodes must encode and decode to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPayloads(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let raw = UnsafeRawBufferPointer(start: start, count: count)
    let selector = Int(raw[0])
    let payload = Array(raw[1...])
    let readers = PayloadReaders.all
    readers[selector % readers.count](payload)
    return 0
}

enum PayloadReaders {
    /// One reader per message and RPC body type.
    static let all: [@Sendable ([UInt8]) -> Void] = [
        check(Hello.self), check(Welcome.self), check(ErrorFrame.self), check(Ping.self), check(Pong.self),
        check(Heartbeat.self), check(HeartbeatAck.self), check(NodeCommand.self), check(CommandAck.self),
        check(InstanceEvent.self), check(EventAck.self), check(EnrollRequest.self), check(EnrollResponse.self),
        check(RPCRequest.self), check(RPCResponse.self), check(LogRequest.self), check(LogChunk.self),
        check(ManifestRequest.self), check(ManifestResponse.self), check(ChunkRequest.self), check(ChunkData.self),
        check(ChunkList.self), check(CacheReport.self), check(PullProgress.self), check(ImageReport.self),
        check(StartInstancesRequest.self), check(InstanceList.self), check(NodeList.self), check(IDList.self),
        check(IDQuery.self), check(EventQuery.self), check(GroupUpdateRequest.self), check(UpdateInstanceRequest.self),
        check(WaitInstanceRequest.self), check(PermissionGroupUpdate.self), check(GroupResources.self),
        check(APIKeyCreateRequest.self), check(APIKeyUpdateRequest.self), check(TAPShakeRequest.self),
        check(NodeConfigRequest.self), check(CommitVersionRequest.self), check(DistributeRequest.self),
        check(RemoveFromNodesRequest.self), check(SaveImageRequest.self), check(MACQuery.self),
        check(RevertTemplateRequest.self), check(PortalSessionRequest.self), check(TemplateManifest.self),
        check(StartSpec.self), check(StartOptions.self), check(NodeResources.self), check(FleetWatch.self),
    ]

    static func check<M: WireCodable & Equatable>(_ type: M.Type) -> @Sendable ([UInt8]) -> Void {
        { bytes in
            guard let message = try? M(bytes: bytes) else { return }
            let again = try? M(bytes: message.encodedBytes())
            precondition(again == message, "\(M.self) does not round-trip")
        }
    }
}
