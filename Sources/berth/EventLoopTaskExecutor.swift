import NIOCore

/// Runs a task's jobs on one NIO event loop.
///
/// The fleet simulator runs each node's agent (a default actor, which follows its task's
/// executor preference) on the event loop that also serves its connection. Otherwise every
/// frame, close and connect hops between the event loops and Swift's global pool, and
/// 10,000 nodes on two cores spend more on waking threads than on their own work: after a
/// control-plane kill, noticing the drops alone took the simulator about 3 s.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
