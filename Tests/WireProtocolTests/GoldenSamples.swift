import NIOCore
import WireProtocol

/// One sample of every message type, with fixed values, for the golden byte vectors.
enum GoldenSamples {
    static var vmInfo: VMInfo {
        var info = VMInfo()
        info.uuid = "u1"
        info.name = "vm"
        info.status = "running"
        info.cpuCores = 2
        info.ramMB = 4096
        info.hostIP = "10.0.0.5"
        info.ip = "192.168.64.2"
        info.vncPort = 5901
        info.portForwarding = [PortForward(guestPort: 22, hostPort: 10001, proto: "tcp", name: "ssh")]
        info.startDateMicros = 1_700_000_000_000_000
        return info
    }

    static var hello: Hello {
        var hello = Hello()
        hello.capabilities = ["events"]
        hello.agentVersion = "a/1"
        hello.nodeName = "n1"
        hello.resources = NodeResources(cpuCount: 8, ramMB: 16384, arch: "arm64", hostIP: "10.0.0.5", maxVMCount: 2)
        hello.templates = [TemplateRef(templateID: "t1", tag: "v1", name: "mac")]
        hello.instances = [InstanceStatus(instanceID: "i1", state: .started)]
        hello.lastAppliedCommandID = 7
        return hello
    }

    static var startSpec: StartSpec {
        var spec = StartSpec()
        spec.templateID = "t1"
        spec.templateName = "mac"
        spec.tag = "v1"
        spec.versionNumber = 1
        spec.cpuCores = 2
        spec.ramMB = 2048
        spec.vmName = "vm"
        spec.arch = "arm64"
        return spec
    }

    /// Heartbeat with 8 instance entries: the benchmark's message.
    static var heartbeat: Heartbeat {
        Heartbeat(
            sequence: 42,
            cpuUtil: 0.5,
            ramUtil: 0.25,
            freeDiskBytes: 1 << 30,
            instances: (0..<8).map {
                InstanceStatus(instanceID: "0e562635-19f8-4557-bbb8-13fa284dd00\($0)", state: .started)
            }
        )
    }

    static var instanceRecord: InstanceRecord {
        var record = InstanceRecord()
        record.instanceID = "i1"
        record.state = .scheduling
        record.templateID = "t1"
        record.tag = "v1"
        record.priority = 1000
        record.waitReason = "no node"
        record.tsMicros = 5
        record.createdMicros = 4
        return record
    }

    static var nodeRecord: NodeRecord {
        var record = NodeRecord()
        record.nodeID = "n1"
        record.name = "mini"
        record.state = "Active"
        record.cpuCount = 8
        record.capacity = 2
        record.templates = [TemplateRef(templateID: "t1", tag: "v1")]
        return record
    }

    /// Every top-level message type, as the frame it travels in.
    static var frames: [(name: String, frame: Frame)] {
        [
            ("hello", hello.frame()),
            (
                "welcome",
                Welcome(
                    version: 1,
                    capabilities: ["events"],
                    heartbeatIntervalMillis: 5000,
                    peerID: "n1",
                    serverTimeMicros: 1
                ).frame()
            ),
            ("error", ErrorFrame(code: WireError.Code.unsupportedVersion.rawValue, message: "no").frame()),
            ("ping", Ping(nonce: 9).frame()),
            ("pong", Pong(nonce: 9).frame()),
            ("heartbeat", heartbeat.frame()),
            ("heartbeatAck", HeartbeatAck(sequence: 42, serverTimeMicros: 3).frame()),
            ("nodeCommand", NodeCommand(commandID: 300, kind: .start, instanceID: "i1", start: startSpec).frame()),
            ("commandAck", CommandAck(commandID: 300, accepted: true, message: "").frame()),
            (
                "instanceEvent",
                InstanceEvent(
                    epoch: 77,
                    sequence: 3,
                    status: InstanceStatus(instanceID: "i1", state: .started, progress: 1, vmInfo: vmInfo),
                    timestampMicros: 1_700_000_000_000_000
                ).frame()
            ),
            ("eventAck", EventAck(epoch: 77, sequence: 3).frame()),
            (
                "enrollRequest",
                EnrollRequest(token: "abcdef.0123456789abcdef", csrDER: [0x30, 0x03, 0x02, 0x01, 0x00], nodeName: "n1")
                    .frame()
            ),
            (
                "enrollResponse",
                EnrollResponse(nodeID: "n1", certificateDER: [0x30, 0x00], caCertificateDER: [0x30, 0x01, 0x00]).frame()
            ),
            (
                "rpcRequest",
                RPCRequest(
                    method: RPCCatalog.listInstances.method,
                    principal: Principal(kind: .root, name: "root"),
                    body: IDQuery(id: "i1").encodedBytes(),
                    requestID: "r1"
                )
                .frame(streamID: 5)
            ),
            ("rpcResponse", RPCResponse.ok(InstanceList(instances: [instanceRecord])).frame(streamID: 5)),
            (
                "tunnelOpen",
                TunnelOpen(instanceID: "i1", port: 22, window: 262_144, principal: Principal(kind: .root, name: "root"))
                    .frame(streamID: 7)
            ),
            ("tunnelReply", TunnelReply(window: 262_144).frame(streamID: 7)),
            ("tunnelData", Frame(type: .tunnelData, streamID: 7, payload: ByteBuffer(string: "SSH-2.0"))),
            ("tunnelWindow", TunnelWindow(increment: 7).frame(streamID: 7)),
            ("tunnelClose", TunnelClose(reason: "done").frame(streamID: 7)),
        ]
    }
}
