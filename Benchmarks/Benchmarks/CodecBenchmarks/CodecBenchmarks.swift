import Benchmark
import NIOCore
import SwiftProtobuf
import WireProtocol

/// Issue 12's P1: a heartbeat with 8 instance entries (id, state, progress, message),
/// encoded and decoded by Berth's codec and by swift-protobuf, with the same fields and
/// values on both sides, in the same run. The goal: Berth at least 3× faster, and no
/// bigger on the wire.
///
/// Berth's side includes the frame (header and length prefix) on both encode and decode:
/// encode ends with the bytes a channel writes (`Frame.wireBytes`, which is what
/// `FrameEncoder` passes on);
/// swift-protobuf's side is the bare message, so framing only counts against Berth. The
/// `bytes` metric of the two "size" benchmarks is each side's encoding: Berth's whole
/// frame, and protobuf's message plus the 5-byte gRPC length prefix it would travel in.
let benchmarks: @Sendable () -> Void = {
    // Each sample runs the operation 1,000 times (`scalingFactor`), and figures are per
    // operation: with one operation per sample the harness's own clock reads and
    // bookkeeping (about 270 ns a sample here) were counted against both codecs.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 10_000
    )

    let heartbeat = HeartbeatSample.berth
    let proto = HeartbeatSample.protobuf
    let allocator = ByteBufferAllocator()

    Benchmark("Heartbeat(8 instances) encode+decode") { benchmark in
        for _ in benchmark.scaledIterations {
            var buffer = heartbeat.frame(allocator: allocator).wireBytes(allocator: allocator)
            var decoder = FrameDecoder()
            let frame = try decoder.decode(buffer: &buffer)!
            blackHole(try Heartbeat(payload: frame.payload))
        }
    }

    Benchmark("Heartbeat(8 instances) encode+decode, swift-protobuf") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes: [UInt8] = try proto.serializedBytes()
            blackHole(try Berth_Bench_Heartbeat(serializedBytes: bytes))
        }
    }

    Benchmark("Heartbeat(8 instances) encode") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(heartbeat.frame(allocator: allocator).wireBytes(allocator: allocator))
        }
    }

    Benchmark("Heartbeat(8 instances) encode, swift-protobuf") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes: [UInt8] = try proto.serializedBytes()
            blackHole(bytes)
        }
    }

    let wire = heartbeat.frame(allocator: allocator).wireBytes(allocator: allocator)
    Benchmark("Heartbeat(8 instances) decode") { benchmark in
        for _ in benchmark.scaledIterations {
            var buffer = wire
            var decoder = FrameDecoder()
            let frame = try decoder.decode(buffer: &buffer)!
            blackHole(try Heartbeat(payload: frame.payload))
        }
    }

    let protoWire: [UInt8] = (try? proto.serializedBytes()) ?? []
    Benchmark("Heartbeat(8 instances) decode, swift-protobuf") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Berth_Bench_Heartbeat(serializedBytes: protoWire))
        }
    }

    let sizeMetric = BenchmarkMetric.custom("bytes", polarity: .prefersSmaller, useScalingFactor: false)
    Benchmark("Heartbeat(8 instances) size", configuration: .init(metrics: [sizeMetric], maxIterations: 1)) {
        benchmark in
        benchmark.measurement(sizeMetric, wire.readableBytes)
    }
    Benchmark(
        "Heartbeat(8 instances) size, swift-protobuf in gRPC framing",
        configuration: .init(metrics: [sizeMetric], maxIterations: 1)
    ) { benchmark in
        benchmark.measurement(sizeMetric, protoWire.count + 5)
    }
}

/// The one heartbeat both codecs carry: a node with 8 instances in mixed states, each
/// with progress and a message, as an agent reports them while pulling and starting.
enum HeartbeatSample {
    static let states: [InstanceState] = [
        .started, .started, .pulling, .started, .scheduling, .stopped, .pulling, .error,
    ]
    static let messages = [
        "", "", "pulling layer 3 of 8", "", "waiting for capacity", "stopped by the operator", "pulling layer 7 of 8",
        "boot timed out after 120 s",
    ]

    static func id(_ index: Int) -> String { "0e562635-19f8-4557-bbb8-13fa284dd00\(index)" }
    static func progress(_ index: Int) -> Double { states[index] == .pulling ? Double(index) / 8 : 1 }

    static let berth = Heartbeat(
        sequence: 48_213,
        cpuUtil: 0.4375,
        ramUtil: 0.625,
        freeDiskBytes: 187_904_819_200,
        instances: (0..<8).map {
            InstanceStatus(instanceID: id($0), state: states[$0], progress: progress($0), message: messages[$0])
        }
    )

    static let protobuf = Berth_Bench_Heartbeat.with { message in
        message.sequence = 48_213
        message.cpuUtil = 0.4375
        message.ramUtil = 0.625
        message.freeDiskBytes = 187_904_819_200
        message.instances = (0..<8).map { (index: Int) -> Berth_Bench_InstanceStatus in
            var status = Berth_Bench_InstanceStatus()
            status.instanceID = HeartbeatSample.id(index)
            status.state = Berth_Bench_InstanceState(rawValue: Int(states[index].rawValue)) ?? .unspecified
            status.progress = HeartbeatSample.progress(index)
            status.message = messages[index]
            return status
        }
    }
}
