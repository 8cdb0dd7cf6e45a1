import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with a clean signal state, in its own process group.
///
/// Foundation's `Process` hands its child the spawning thread's signal mask, and in an
/// async program that mask can block `SIGTERM`; a VM process or startup script would
/// then ignore a graceful stop. This spawns with `posix_spawn`, an empty mask, default
/// dispositions and a new process group, and reaps the child on a thread of its own
/// (Foundation's `Process` also watches children through libdispatch, which crashed the
/// test process now and then; nothing in Berth uses it).
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let exit = ExitBox()

    /// Starts `arguments[0]` (a path) with stdin, stdout and stderr redirected to files.
    ///
    /// `descriptors` hands the child some of this process's descriptors instead, keyed by
    /// the child's number: `[2: pipe]` sends its stderr into a pipe, `[1: 1, 2: 2]` shares
    /// ours.
    public init(
        arguments: [String],
        directory: URL,
        environment: [String: String],
        stdin: URL?,
        stdout: URL,
        stderr: URL,
        appendOutput: Bool = false,
        descriptors: [Int32: Int32] = [:]
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (child, parent) in descriptors where child <= 2 {
            posix_spawn_file_actions_adddup2(&actions, parent, child)
        }
        // Descriptors above 2 (a browser's debugging pipe on 3 and 4) are parked on numbers
        // above every open one and every target, so placing them cannot clobber one another.
        let open = Self.openDescriptors()
        let targets = Set(descriptors.keys.filter { $0 > 2 })
        let highestTarget = targets.max() ?? 2
        let firstFree = max(open.max() ?? 2, highestTarget) + 1
        let parked = descriptors.filter { $0.key > 2 }.sorted { $0.key < $1.key }.enumerated().map {
            (temporary: firstFree + Int32($0.offset), child: $0.element.key, parent: $0.element.value)
        }
        for entry in parked { posix_spawn_file_actions_adddup2(&actions, entry.parent, entry.temporary) }
        // Nothing else of this process leaks into the child: not a listening socket, not a
        // database file, not a connection. NIO accepts sockets without close-on-exec, so a
        // list of open descriptors taken before the spawn misses one accepted meanwhile, and
        // the child would hold that connection open after the server closed it. Where glibc
        // has it, `closefrom` in the child closes everything at spawn time instead.
        if let closeFrom = Self.addCloseFrom {
            for entry in parked { posix_spawn_file_actions_adddup2(&actions, entry.temporary, entry.child) }
            for fd in Int32(3)..<(highestTarget + 1) where !targets.contains(fd) {
                posix_spawn_file_actions_addclose(&actions, fd)
            }
            _ = closeFrom(&actions, highestTarget + 1)
        } else {
            // (Descriptors already closed by spawn time are skipped by glibc.)
            for fd in open where fd > 2 {
                posix_spawn_file_actions_addclose(&actions, fd)
            }
            for entry in parked {
                posix_spawn_file_actions_adddup2(&actions, entry.temporary, entry.child)
                posix_spawn_file_actions_addclose(&actions, entry.temporary)
            }
        }
        let outFlags = O_WRONLY | O_CREAT | (appendOutput ? O_APPEND : O_TRUNC)
        if descriptors[0] == nil {
            posix_spawn_file_actions_addopen(&actions, 0, stdin?.path ?? "/dev/null", O_RDONLY, 0)
        }
        if descriptors[1] == nil { posix_spawn_file_actions_addopen(&actions, 1, stdout.path, outFlags, 0o644) }
        if descriptors[2] == nil { posix_spawn_file_actions_addopen(&actions, 2, stderr.path, outFlags, 0o644) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)
        )

        // Glibc's addchdir_np is not visible to Swift, so a shell changes directory first.
        let launcher = ["/bin/sh", "-c", #"cd -- "$1" || exit 127; shift 1; exec "$@""#, "sh", directory.path]
        let argv = (launcher + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var spawned: pid_t = 0
        let status = posix_spawn(&spawned, launcher[0], &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw DriverError("could not start \(arguments[0]): \(String(cString: strerror(status)))")
        }
        let pid = spawned
        self.pid = pid
        let exit = self.exit
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // Exit code, or 128 + signal as shells report it.
            let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            exit.finish(code)
        }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), looked up at run
    /// time: `spawn.h` declares it only for `_GNU_SOURCE`, which Swift's Glibc module lacks.
    static let addCloseFrom:
        (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
            guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
            return unsafeBitCast(
                symbol,
                to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self
            )
        }()

    /// This process's open file descriptors, from `/proc/self/fd`.
    static func openDescriptors() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { Int32($0) }
    }

    /// Signals the whole process group.
    public func signal(_ signal: Int32) {
        kill(-pid, signal)
    }

    /// The exit status if the process ends within `timeout`, else `nil` (it keeps running).
    public func waitForExit(within timeout: Duration) async -> Int32? {
        let exit = self.exit
        return await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await exit.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns once the process has exited.
    public func stop(grace: Duration) async {
        signal(SIGTERM)
        let exited = await waitForExit(within: grace) != nil
        if !exited {
            signal(SIGKILL)
            _ = await exit.wait()
        }
    }
}
