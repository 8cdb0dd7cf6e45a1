/// The optional knobs of Anka's start request that shape the VM itself.
///
/// The gateway validates them; the control plane stores them with the instance and sends
/// them to the node in ``StartSpec``; the node's driver applies them.
public struct StartOptions: WireCodable, Equatable {
    /// Decoded `startup_script` (the request carries base64).
    public var startupScript: [UInt8] = []
    /// 0: after the network is up; 1: as soon as the VM boots.
    public var startupScriptCondition: Int = 0
    public var scriptMonitoring: Bool = false
    /// Seconds (monitored scripts only); `nil` for Anka's default of 90.
    public var scriptTimeout: Int?
    /// 0 stop, 1 keep, 2 delete the VM when a monitored script fails.
    public var scriptFailHandler: Int = 0
    public var nameTemplate: String = ""
    public var usbDevice: String = ""
    public var macAddress: String = ""
    public var vlanTag: String = ""
    public var videoController: String = ""
    public var hvapic: String = ""
    public var csrActiveConfig: String = ""
    public var networkLocal: String = ""
    public var hwSerial: String = ""
    public var hwUUID: String = ""
    /// `port_forwarding_override`: replaces the template's rules when non-empty.
    public var portForwarding: [PortForward] = []
    public var networkMode: String = ""
    /// `disk.size`, e.g. `256G`.
    public var diskSize: String = ""
    public var diskSkipContainerResize: Bool = false
    public var vncPassword: String = ""
    /// The device of group `usbDevice` the control plane claimed for this instance.
    public var usbDeviceID: String = ""
    /// SSH public keys the VM accepts (an environment's `ssh_keys`); drivers install them
    /// as the instance's `authorized_keys`.
    public var sshKeys: [String] = []

    public init() {}

    public var isEmpty: Bool { self == StartOptions() }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, bytes: startupScript)
        w.write(2, startupScriptCondition)
        w.write(3, scriptMonitoring)
        w.write(4, scriptTimeout)
        w.write(5, scriptFailHandler)
        w.write(6, nameTemplate)
        w.write(7, usbDevice)
        w.write(8, macAddress)
        w.write(9, vlanTag)
        w.write(10, videoController)
        w.write(11, hvapic)
        w.write(12, csrActiveConfig)
        w.write(13, networkLocal)
        w.write(14, hwSerial)
        w.write(15, hwUUID)
        w.write(16, portForwarding)
        w.write(17, networkMode)
        w.write(18, diskSize)
        w.write(19, diskSkipContainerResize)
        w.write(20, vncPassword)
        w.write(21, usbDeviceID)
        w.write(22, sshKeys)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: startupScript = try r.bytes(tag)
            case 2: startupScriptCondition = try r.int(tag)
            case 3: scriptMonitoring = try r.bool(tag)
            case 4: scriptTimeout = try r.int(tag)
            case 5: scriptFailHandler = try r.int(tag)
            case 6: nameTemplate = try r.string(tag)
            case 7: usbDevice = try r.string(tag)
            case 8: macAddress = try r.string(tag)
            case 9: vlanTag = try r.string(tag)
            case 10: videoController = try r.string(tag)
            case 11: hvapic = try r.string(tag)
            case 12: csrActiveConfig = try r.string(tag)
            case 13: networkLocal = try r.string(tag)
            case 14: hwSerial = try r.string(tag)
            case 15: hwUUID = try r.string(tag)
            case 16: portForwarding.append(try r.message(tag))
            case 17: networkMode = try r.string(tag)
            case 18: diskSize = try r.string(tag)
            case 19: diskSkipContainerResize = try r.bool(tag)
            case 20: vncPassword = try r.string(tag)
            case 21: usbDeviceID = try r.string(tag)
            case 22: sshKeys.append(try r.string(tag))
            default: try r.skip(tag)
            }
        }
    }
}
