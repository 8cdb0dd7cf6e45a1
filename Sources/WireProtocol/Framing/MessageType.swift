/// The message type carried in every frame header (16 bits, big-endian).
///
/// Values are grouped: `0x00xx` connection control, `0x01xx` node session,
/// `0x02xx` enrollment, `0x03xx` gateway RPC, `0x04xx` VM access tunnels. See `docs/PROTOCOL.md`.
public struct MessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let hello = MessageType(rawValue: 0x0001)
    public static let welcome = MessageType(rawValue: 0x0002)
    public static let error = MessageType(rawValue: 0x0003)
    public static let ping = MessageType(rawValue: 0x0004)
    public static let pong = MessageType(rawValue: 0x0005)
    /// A connected node or gateway renews its certificate (see `docs/PROTOCOL.md`, §7).
    public static let certificateRenewal = MessageType(rawValue: 0x0006)
    public static let certificateRenewed = MessageType(rawValue: 0x0007)
    /// A control plane that does not lead names the one that does (``Redirect``).
    public static let redirect = MessageType(rawValue: 0x0008)

    public static let heartbeat = MessageType(rawValue: 0x0101)
    public static let heartbeatAck = MessageType(rawValue: 0x0102)
    public static let nodeCommand = MessageType(rawValue: 0x0103)
    public static let commandAck = MessageType(rawValue: 0x0104)
    public static let instanceEvent = MessageType(rawValue: 0x0105)
    public static let eventAck = MessageType(rawValue: 0x0106)
    /// The control plane asks a node for a slice of an instance's log.
    public static let logRequest = MessageType(rawValue: 0x0107)
    public static let logChunk = MessageType(rawValue: 0x0108)
    /// Template content (see `docs/PROTOCOL.md`, "Template content").
    public static let manifestRequest = MessageType(rawValue: 0x0109)
    public static let manifestResponse = MessageType(rawValue: 0x010A)
    public static let chunkRequest = MessageType(rawValue: 0x010B)
    public static let chunkData = MessageType(rawValue: 0x010C)
    public static let chunkList = MessageType(rawValue: 0x010D)
    public static let cacheReport = MessageType(rawValue: 0x010E)
    public static let pullProgress = MessageType(rawValue: 0x010F)
    public static let imageReport = MessageType(rawValue: 0x0110)

    public static let enrollRequest = MessageType(rawValue: 0x0201)
    public static let enrollResponse = MessageType(rawValue: 0x0202)

    public static let rpcRequest = MessageType(rawValue: 0x0301)
    public static let rpcResponse = MessageType(rawValue: 0x0302)

    /// A TCP stream to an instance's port, relayed gateway → control plane → node
    /// (see `docs/PROTOCOL.md`, "VM access tunnels"). The stream id is the tunnel's id.
    public static let tunnelOpen = MessageType(rawValue: 0x0401)
    public static let tunnelReply = MessageType(rawValue: 0x0402)
    public static let tunnelData = MessageType(rawValue: 0x0403)
    public static let tunnelWindow = MessageType(rawValue: 0x0404)
    public static let tunnelClose = MessageType(rawValue: 0x0405)

    public var description: String {
        switch self {
        case .hello: "hello"
        case .welcome: "welcome"
        case .error: "error"
        case .ping: "ping"
        case .pong: "pong"
        case .certificateRenewal: "certificateRenewal"
        case .certificateRenewed: "certificateRenewed"
        case .redirect: "redirect"
        case .heartbeat: "heartbeat"
        case .heartbeatAck: "heartbeatAck"
        case .nodeCommand: "nodeCommand"
        case .commandAck: "commandAck"
        case .instanceEvent: "instanceEvent"
        case .eventAck: "eventAck"
        case .logRequest: "logRequest"
        case .logChunk: "logChunk"
        case .manifestRequest: "manifestRequest"
        case .manifestResponse: "manifestResponse"
        case .chunkRequest: "chunkRequest"
        case .chunkData: "chunkData"
        case .chunkList: "chunkList"
        case .cacheReport: "cacheReport"
        case .pullProgress: "pullProgress"
        case .imageReport: "imageReport"
        case .enrollRequest: "enrollRequest"
        case .enrollResponse: "enrollResponse"
        case .rpcRequest: "rpcRequest"
        case .rpcResponse: "rpcResponse"
        case .tunnelOpen: "tunnelOpen"
        case .tunnelReply: "tunnelReply"
        case .tunnelData: "tunnelData"
        case .tunnelWindow: "tunnelWindow"
        case .tunnelClose: "tunnelClose"
        default: "type(0x\(String(rawValue, radix: 16)))"
        }
    }
}
