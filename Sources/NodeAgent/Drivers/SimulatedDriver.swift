import Foundation
import WireProtocol

/// A driver that runs no VMs but behaves like one that does: boot and preparing a freshly
/// pulled template take the configured time, a configurable share of starts fail, and `vminfo` looks real
/// (uuid, name, cpu/ram, host and guest IP, VNC port, an ssh port-forwarding rule).
public actor SimulatedDriver: InstanceDriver {
    public struct Configuration: Sendable {
        public var bootTime: Duration = .milliseconds(200)
        public var pullTime: Duration = .milliseconds(300)
        /// Share of starts that fail, 0.0–1.0.
        public var failureRate: Double = 0
        public var cpuCount: Int = 8
        public var ramMB: Int = 16_384
        public var arch: String = "amd64"
        public var hostIP: String = "127.0.0.1"
        public var maxVMCount: Int = 2
        public var diskSizeBytes: Int = 500 * 1024 * 1024 * 1024
        public var vlans: [String] = []
        public var usbDevices: [USBDevice] = []
        /// Where instances' directories are (`instances/<id>`): only an instance given SSH
        /// keys gets one, holding its `authorized_keys`. A scratch directory by default.
        public var root: URL = FileManager.default.temporaryDirectory.appendingPathComponent(
            "berth-simulated",
            isDirectory: true
        )

        public init() {}
    }

    struct VM {
        var status: InstanceStatus
        var ordinal: Int
    }

    let configuration: Configuration
    var vms: [String: VM] = [:]
    var nextOrdinal = 1
    var random: SplitMix64
    var exitHandler: (@Sendable (VMExit) async -> Void)?

    /// - Parameter seed: makes the failure pattern repeatable (tests); random when `nil`.
    public init(configuration: Configuration = Configuration(), seed: UInt64? = nil) {
        self.configuration = configuration
        self.random = SplitMix64(seed: seed ?? UInt64.random(in: 0...UInt64.max))
    }

    public func resources() -> NodeResources {
        NodeResources(
            cpuCount: configuration.cpuCount,
            ramMB: configuration.ramMB,
            arch: configuration.arch,
            hostIP: configuration.hostIP,
            maxVMCount: configuration.maxVMCount,
            diskSizeBytes: configuration.diskSizeBytes,
            freeDiskBytes: configuration.diskSizeBytes / 2,
            vlans: configuration.vlans,
            usbDevices: configuration.usbDevices
        )
    }

    public func instances() -> [InstanceStatus] { vms.values.map(\.status) }

    /// Simulates unpacking a large image: `pullTime` in four steps.
    public func prepare(_ spec: StartSpec, progress: @Sendable (Double) async -> Void) async throws {
        guard configuration.pullTime > .zero else { return }
        let steps = 4
        for step in 1...steps {
            try await Task.sleep(for: configuration.pullTime / steps)
            await progress(Double(step) / Double(steps))
        }
    }

    /// An instance's directory (it exists only when the instance was given SSH keys).
    public nonisolated func directory(of instanceID: String) -> URL {
        configuration.root.appendingPathComponent("instances", isDirectory: true)
            .appendingPathComponent(instanceID, isDirectory: true)
    }

    public func start(instanceID: String, spec: StartSpec) async throws -> VMInfo {
        if configuration.bootTime > .zero { try await Task.sleep(for: configuration.bootTime) }
        try Task.checkCancellation()
        if configuration.failureRate > 0, Double.random(in: 0..<1, using: &random) < configuration.failureRate {
            throw DriverError("simulated boot failure of \(spec.vmName)")
        }
        if !spec.options.sshKeys.isEmpty {
            let directory = directory(of: instanceID)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try AuthorizedKeys.install(spec.options.sshKeys, in: directory)
        }
        let ordinal = nextOrdinal
        nextOrdinal += 1
        let now = Self.nowMicros()
        var info = VMInfo()
        info.uuid = RandomID.uuid()
        info.name = spec.vmName.isEmpty ? "mgmtManaged-\(spec.templateName)-\(now)" : spec.vmName
        info.status = "running"
        info.cpuCores = spec.cpuCores
        info.ramMB = spec.ramMB
        info.hostIP = configuration.hostIP
        info.ip = "192.168.64.\(1 + ordinal % 250)"
        info.vncPort = 5900 + ordinal
        info.portForwarding = [PortForward(guestPort: 22, hostPort: 10_000 + ordinal, proto: "tcp", name: "ssh")]
        if !spec.options.portForwarding.isEmpty {
            // port_forwarding_override replaces the template's rules; a missing host port is allocated.
            info.portForwarding = spec.options.portForwarding.enumerated().map { index, rule in
                var rule = rule
                if rule.hostPort == 0 { rule.hostPort = 10_000 + ordinal * 16 + index }
                return rule
            }
        }
        info.creationDateMicros = now
        info.startDateMicros = now
        vms[instanceID] = VM(
            status: InstanceStatus(instanceID: instanceID, state: .started, vmInfo: info),
            ordinal: ordinal
        )
        return info
    }

    public func stop(instanceID: String) async throws -> VMInfo? {
        guard var vm = vms[instanceID] else { throw DriverError("no instance \(instanceID) on this node") }
        vm.status.state = .stopped
        vm.status.vmInfo?.status = "stopped"
        vm.status.vmInfo?.stopDateMicros = Self.nowMicros()
        vms[instanceID] = vm
        return vm.status.vmInfo
    }

    public func restart(instanceID: String) async throws -> VMInfo {
        guard var vm = vms[instanceID], var info = vm.status.vmInfo else {
            throw DriverError("no instance \(instanceID) on this node")
        }
        if configuration.bootTime > .zero { try await Task.sleep(for: configuration.bootTime) }
        info.status = "running"
        info.startDateMicros = Self.nowMicros()
        info.stopDateMicros = 0
        vm.status.state = .started
        vm.status.vmInfo = info
        vms[instanceID] = vm
        return info
    }

    public func terminate(instanceID: String) async throws {
        vms.removeValue(forKey: instanceID)
        try? FileManager.default.removeItem(at: directory(of: instanceID))
    }

    /// Made-up but steady figures for each running VM: a CPU share that varies with the VM,
    /// and half its memory resident.
    public func figures() -> [InstanceFigures] {
        vms.values.compactMap { vm in
            guard vm.status.state == .started, let info = vm.status.vmInfo else { return nil }
            return InstanceFigures(
                instanceID: vm.status.instanceID,
                cpuPercent: Double(5 + (vm.ordinal * 37) % 60),
                memoryBytes: info.ramMB * 1_048_576 / 2
            )
        }
    }

    public func onVMExit(_ handler: @escaping @Sendable (VMExit) async -> Void) {
        exitHandler = handler
    }

    /// Ends a running VM as if it had exited with `code` on its own (tests, the simulator):
    /// `Stopped` for 0, else `Error`, and the agent is told.
    public func endOnItsOwn(instanceID: String, code: Int32) async {
        guard var vm = vms[instanceID], vm.status.state == .started else { return }
        vm.status.state = code == 0 ? .stopped : .error
        vm.status.vmInfo?.status = "stopped"
        vm.status.vmInfo?.stopDateMicros = Self.nowMicros()
        vms[instanceID] = vm
        await exitHandler?(VMExit(instanceID: instanceID, code: code, vmInfo: vm.status.vmInfo))
    }

    static func nowMicros() -> Int { Int(Date().timeIntervalSince1970 * 1_000_000) }
}
