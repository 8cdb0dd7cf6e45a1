import Foundation
import WireProtocol

/// What runs instances on a node. The agent calls one operation per instance at a time.
///
/// Implementations: ``SimulatedDriver`` (no VMs, for development and tests) and
/// ``ProcessDriver`` (a supervised host process per instance, Linux). Operations
/// are cancellable: a terminate cancels a start still in progress.
public protocol InstanceDriver: Sendable {
    /// Hardware and capacity the node offers.
    func resources() async -> NodeResources
    /// Instances that exist on the node now.
    func instances() async -> [InstanceStatus]
    /// Makes a template version the agent has just fetched into its cache ready to start
    /// (the simulated driver takes its configured pull time), reporting progress 0.0–1.0.
    func prepare(_ spec: StartSpec, progress: @Sendable (Double) async -> Void) async throws
    /// Gives a new instance its own copy of the template's files, before ``start(instanceID:spec:)``.
    func provision(instanceID: String, template: TemplateManifest, from cache: TemplateCache) async throws
    /// The directory whose files are the instance's content (save image); `nil` when the
    /// driver keeps none, and the instance's content is its template's.
    func contentDirectory(instanceID: String) async -> URL?
    /// Starts an instance; returns its `vminfo` once it runs.
    func start(instanceID: String, spec: StartSpec) async throws -> VMInfo
    /// Stops a running instance, keeping it.
    func stop(instanceID: String) async throws -> VMInfo?
    /// Stops and starts an instance again (a new start date).
    func restart(instanceID: String) async throws -> VMInfo
    /// Removes an instance. Succeeds if it does not exist.
    func terminate(instanceID: String) async throws
    /// Runs an instance's startup script inside it and returns the outcome.
    func runScript(instanceID: String, script: [UInt8], timeout: Duration) async -> ScriptResult
    /// The file that holds an instance's log (the agent appends its own lines too).
    nonisolated func logURL(instanceID: String) -> URL
    /// Where a TCP connection to the running instance's `port` goes: the VM's own address
    /// on this node. Throws (``DriverError``) when the instance is not running here or has
    /// no network of its own.
    func endpoint(instanceID: String, port: Int) async throws -> (host: String, port: Int)
    /// Hands the driver what to call when a VM ends on its own (it exited or crashed, not
    /// because it was stopped, restarted or terminated). Drivers that cannot tell keep the
    /// default, which never calls it.
    func onVMExit(_ handler: @escaping @Sendable (VMExit) async -> Void) async
    /// What the running instances use now: CPU since the previous call, and memory. Sent
    /// with each heartbeat; drivers that cannot measure keep the default (none).
    func figures() async -> [InstanceFigures]
}

/// A VM that ended on its own: its exit status (128 + the signal for a signal), and its
/// `vminfo` as it stopped.
public struct VMExit: Sendable {
    public var instanceID: String
    public var code: Int32
    public var vmInfo: VMInfo?

    public init(instanceID: String, code: Int32, vmInfo: VMInfo?) {
        self.instanceID = instanceID
        self.code = code
        self.vmInfo = vmInfo
    }
}

extension InstanceDriver {
    public func prepare(_ spec: StartSpec, progress: @Sendable (Double) async -> Void) async throws {}

    public func provision(instanceID: String, template: TemplateManifest, from cache: TemplateCache) async throws {}

    public func contentDirectory(instanceID: String) async -> URL? { nil }

    public func onVMExit(_ handler: @escaping @Sendable (VMExit) async -> Void) async {}

    public func figures() async -> [InstanceFigures] { [] }

    public func endpoint(instanceID: String, port: Int) async throws -> (host: String, port: Int) {
        throw DriverError("this node's driver gives instances no network to reach")
    }

    /// A per-instance file in a scratch directory.
    public nonisolated func logURL(instanceID: String) -> URL {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("berth-instance-logs", isDirectory: true)
            .appendingPathComponent("\(instanceID).log")
    }

    /// Runs the script with bash (or `sh` where bash is missing) on the host, in a
    /// per-instance scratch directory (``ScriptRunner``).
    public func runScript(instanceID: String, script: [UInt8], timeout: Duration) async -> ScriptResult {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("berth-scripts", isDirectory: true)
            .appendingPathComponent(instanceID, isDirectory: true)
        return await ScriptRunner.run(script, in: directory, timeout: timeout, environment: ["INSTANCE_ID": instanceID])
    }
}

/// A driver's failure, reported as the instance's `Error` message.
public struct DriverError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
