import Foundation
import WireProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Runs each instance as a real, supervised host process: the `process` driver.
///
/// An instance gets its own working directory under `root/instances/<id>`, and its "VM"
/// is a process started there in its own process group (by default one that just stays up;
/// `vmCommand` can be any long-running command). Stop ends the process, restart starts it
/// again, and terminate ends it and removes the directory. Startup scripts run with `sh`
/// in the same directory. The template's files are copied from the agent's cache into
/// `disk/` in that directory (`DISK_DIR` for the VM command); save image uploads `disk/`.
///
/// Each instance gets a loopback address of its own, `127.66.x.y` (`INSTANCE_IP` for the VM
/// command and scripts, and its `vminfo.ip`), as a VM has its own address on its host:
/// a server the VM command runs binds there, and a tunnel to the instance's port connects
/// there. (Linux routes all of 127.0.0.0/8 to loopback.)
public actor ProcessDriver: InstanceDriver {
    public struct Configuration: Sendable {
        /// Working area: `instances/` lives here.
        public var root: URL
        /// What an instance runs, with `sh -c`, in its working directory.
        public var vmCommand = "exec sleep 2147483647"
        public var maxVMCount = 2
        public var hostIP = "127.0.0.1"
        public var vlans: [String] = []
        public var usbDevices: [USBDevice] = []

        public init(root: URL) { self.root = root }
    }

    struct Instance {
        var status: InstanceStatus
        var process: ChildProcess?
        var spec: StartSpec
        /// Which loopback address is the instance's own (``ProcessDriver/address(_:)``).
        var addressIndex: UInt16

        var address: String { ProcessDriver.address(addressIndex) }
    }

    public let configuration: Configuration
    var instancesByID: [String: Instance] = [:]
    /// Loopback addresses in use, and the next one to try.
    var addressesInUse: Set<UInt16> = []
    var nextAddress: UInt16 = 1
    /// Told when a VM process ends on its own (``onVMExit(_:)``).
    var exitHandler: (@Sendable (VMExit) async -> Void)?
    /// Each VM process's CPU time at the last ``figures()``, and when it was read.
    var cpuSamples: [Int32: (ticks: Int, at: ContinuousClock.Instant)] = [:]

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    var instancesRoot: URL { configuration.root.appendingPathComponent("instances", isDirectory: true) }

    /// An instance's working directory.
    public nonisolated func directory(of instanceID: String) -> URL {
        configuration.root.appendingPathComponent("instances", isDirectory: true)
            .appendingPathComponent(instanceID, isDirectory: true)
    }

    public func resources() -> NodeResources {
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: &info.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let disk = (try? FileManager.default.attributesOfFileSystem(forPath: configuration.root.path)) ?? [:]
        return NodeResources(
            cpuCount: ProcessInfo.processInfo.activeProcessorCount,
            ramMB: Int(ProcessInfo.processInfo.physicalMemory / 1_048_576),
            arch: machine == "aarch64" || machine == "arm64" ? "arm64" : "amd64",
            hostIP: configuration.hostIP,
            maxVMCount: configuration.maxVMCount,
            diskSizeBytes: (disk[.systemSize] as? NSNumber)?.intValue ?? 0,
            freeDiskBytes: (disk[.systemFreeSize] as? NSNumber)?.intValue ?? 0,
            vlans: configuration.vlans,
            usbDevices: configuration.usbDevices
        )
    }

    public func instances() -> [InstanceStatus] { instancesByID.values.map(\.status) }

    /// Copies the template's files into the instance's `disk/` directory.
    public func provision(instanceID: String, template: TemplateManifest, from cache: TemplateCache) async throws {
        let disk = directory(of: instanceID).appendingPathComponent("disk", isDirectory: true)
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        try await cache.materialize(template, into: disk)
    }

    public func contentDirectory(instanceID: String) -> URL? {
        directory(of: instanceID).appendingPathComponent("disk", isDirectory: true)
    }

    public func start(instanceID: String, spec: StartSpec) async throws -> VMInfo {
        let directory = directory(of: instanceID)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try AuthorizedKeys.install(spec.options.sshKeys, in: directory)
        var info = VMInfo()
        info.uuid = instanceID
        info.name = spec.vmName
        info.cpuCores = spec.cpuCores
        info.ramMB = spec.ramMB
        let addressIndex = instancesByID[instanceID]?.addressIndex ?? allocateAddress()
        let address = Self.address(addressIndex)
        info.hostIP = configuration.hostIP
        info.ip = address
        info.portForwarding = spec.options.portForwarding
        info.creationDateMicros = Self.nowMicros()
        instancesByID[instanceID] = Instance(
            status: InstanceStatus(instanceID: instanceID, state: .started),
            process: nil,
            spec: spec,
            addressIndex: addressIndex
        )
        return try launch(instanceID, info: info)
    }

    public func stop(instanceID: String) async throws -> VMInfo? {
        guard var instance = instancesByID[instanceID] else {
            throw DriverError("no instance \(instanceID) on this node")
        }
        // Forgotten before it ends, so its end is not taken for an exit of its own.
        instancesByID[instanceID]?.process = nil
        await end(instance)
        instance.process = nil
        instance.status.state = .stopped
        instance.status.vmInfo?.status = "stopped"
        instance.status.vmInfo?.stopDateMicros = Self.nowMicros()
        instancesByID[instanceID] = instance
        return instance.status.vmInfo
    }

    public func restart(instanceID: String) async throws -> VMInfo {
        guard let instance = instancesByID[instanceID], let info = instance.status.vmInfo else {
            throw DriverError("no instance \(instanceID) on this node")
        }
        instancesByID[instanceID]?.process = nil
        await end(instance)
        return try launch(instanceID, info: info)
    }

    public func terminate(instanceID: String) async throws {
        if let instance = instancesByID.removeValue(forKey: instanceID) {
            await end(instance)
            addressesInUse.remove(instance.addressIndex)
        }
        try? FileManager.default.removeItem(at: directory(of: instanceID))
    }

    public func runScript(instanceID: String, script: [UInt8], timeout: Duration) async -> ScriptResult {
        await ScriptRunner.run(
            script,
            in: directory(of: instanceID),
            timeout: timeout,
            environment: [
                "INSTANCE_ID": instanceID, "VM_NAME": instancesByID[instanceID]?.spec.vmName ?? "",
                "INSTANCE_IP": instancesByID[instanceID]?.address ?? "",
                "DISK_DIR": directory(of: instanceID).appendingPathComponent("disk").path,
            ]
        )
    }

    /// The instance's own address and `port`, while its process runs.
    public func endpoint(instanceID: String, port: Int) throws -> (host: String, port: Int) {
        guard let instance = instancesByID[instanceID] else { throw DriverError("no instance \(instanceID) on this node") }
        guard instance.process != nil, instance.status.state == .started else {
            throw DriverError("instance \(instanceID) is not running")
        }
        guard (1...65_535).contains(port) else { throw DriverError("port \(port) is not a TCP port") }
        return (instance.address, port)
    }

    /// A free address index (1 … 65534, neither x.0 nor x.255 as the last byte).
    private func allocateAddress() -> UInt16 {
        while addressesInUse.contains(nextAddress) || nextAddress & 0xFF == 0 || nextAddress & 0xFF == 0xFF {
            nextAddress = nextAddress == UInt16.max ? 1 : nextAddress + 1
        }
        let index = nextAddress
        addressesInUse.insert(index)
        nextAddress = nextAddress == UInt16.max ? 1 : nextAddress + 1
        return index
    }

    /// The loopback address of an index: 127.66.x.y.
    static func address(_ index: UInt16) -> String { "127.66.\(index >> 8).\(index & 0xFF)" }

    /// The instance's log: the VM process's output, the agent's lines, script output.
    public nonisolated func logURL(instanceID: String) -> URL {
        directory(of: instanceID).appendingPathComponent("vm.log")
    }

    /// The host process id of a running instance (tests and operators).
    public func pid(of instanceID: String) -> Int32? {
        instancesByID[instanceID]?.process?.pid
    }

    // MARK: processes

    private func launch(_ instanceID: String, info: VMInfo) throws -> VMInfo {
        let directory = directory(of: instanceID)
        let log = logURL(instanceID: instanceID)
        let process = try ChildProcess(
            arguments: ["/bin/sh", "-c", configuration.vmCommand],
            directory: directory,
            environment: ProcessInfo.processInfo.environment.merging([
                "INSTANCE_ID": instanceID, "DISK_DIR": directory.appendingPathComponent("disk").path,
                "INSTANCE_IP": instancesByID[instanceID]?.address ?? "",
            ]) { _, new in new },
            stdin: nil,
            stdout: log,
            stderr: log,
            appendOutput: true
        )
        var info = info
        info.status = "running"
        info.startDateMicros = Self.nowMicros()
        info.stopDateMicros = 0
        instancesByID[instanceID]?.process = process
        instancesByID[instanceID]?.status.state = .started
        instancesByID[instanceID]?.status.vmInfo = info
        let exit = process.exit
        let pid = process.pid
        Task { [weak self] in
            guard let code = await exit.wait() else { return }
            await self?.processEnded(instanceID, pid: pid, code: code)
        }
        return info
    }

    /// Each running VM process's CPU use since the previous call (percent of one core; 0
    /// on the first) and resident memory, from `/proc/<pid>/stat` and `statm`. The figures
    /// are the VM's main process (the one its command `exec`s), not its children.
    public func figures() -> [InstanceFigures] {
        let now = ContinuousClock.now
        var seen: Set<Int32> = []
        var result: [InstanceFigures] = []
        for (id, instance) in instancesByID {
            guard let pid = instance.process?.pid, let usage = ProcessUsage.read(pid: pid) else { continue }
            seen.insert(pid)
            var percent = 0.0
            if let previous = cpuSamples[pid] {
                let elapsed = (now - previous.at) / .seconds(1)
                if elapsed > 0 {
                    percent = Double(usage.cpuTicks - previous.ticks) / Double(ProcessUsage.ticksPerSecond) / elapsed * 100
                }
            }
            cpuSamples[pid] = (usage.cpuTicks, now)
            result.append(InstanceFigures(instanceID: id, cpuPercent: max(0, percent), memoryBytes: usage.residentBytes))
        }
        cpuSamples = cpuSamples.filter { seen.contains($0.key) }
        return result
    }

    public func onVMExit(_ handler: @escaping @Sendable (VMExit) async -> Void) {
        exitHandler = handler
    }

    /// A VM process ended. If it is still the instance's process, nothing here ended it:
    /// the VM exited or crashed, and the handler is told (`Stopped` for exit code 0, else
    /// `Error`, in the driver's own listing too).
    private func processEnded(_ instanceID: String, pid: Int32, code: Int32) async {
        guard var instance = instancesByID[instanceID], instance.process?.pid == pid else { return }
        instance.process = nil
        instance.status.state = code == 0 ? .stopped : .error
        instance.status.message = "the VM process exited with code \(code)"
        instance.status.vmInfo?.status = "stopped"
        instance.status.vmInfo?.stopDateMicros = Self.nowMicros()
        instancesByID[instanceID] = instance
        await exitHandler?(VMExit(instanceID: instanceID, code: code, vmInfo: instance.status.vmInfo))
    }

    /// Ends an instance's process group: SIGTERM, then SIGKILL after 5 s.
    private func end(_ instance: Instance) async {
        await instance.process?.stop(grace: .seconds(5))
    }

    static func nowMicros() -> Int { Int(Date().timeIntervalSince1970 * 1_000_000) }
}
