import ControlPlane
import NIOCore
import NIOPosix
import NIOSSL
import Persistence
import TLSTransport
import WireProtocol
import X509

/// Low-level connections for tests that must misbehave on purpose.
public enum RawConnections {
    /// A TLS connection that sends and receives raw bytes (no frame codec), to inject garbage.
    public static func rawTLS(
        port: Int,
        configuration: TLSConfiguration = TLSConfigurations.enrollmentClient()
    )
        async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer>
    {
        var configuration = configuration
        configuration.certificateVerification = .none
        let context = try NIOSSLContext(configuration: configuration)
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: nil)
                    )
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// A plain TCP connection (no TLS at all), optionally from a chosen loopback address,
    /// as a flood of connections that never handshake would open it.
    public static func plainTCP(port: Int, from source: String? = nil) async throws -> any Channel {
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        return try await bootstrap.connect(host: "127.0.0.1", port: port).get()
    }

    /// Returns when the server has closed `connection` (reads and drops whatever it sends).
    public static func waitUntilClosed(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, _ in
                for try await _ in inbound {}
            }
        } catch {}
    }

    /// Writes `bytes` on a plain TCP connection, then reads until the server closes it (or
    /// `limit` bytes came); returns what it sent. A write the server refuses is not an error.
    public static func exchangeTCP(_ bytes: [UInt8], port: Int, limit: Int = 1 << 20) async throws -> String {
        let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await connection.executeThenClose { inbound, outbound in
            try? await outbound.write(ByteBuffer(bytes: bytes))
            var received = ByteBuffer()
            do {
                for try await var chunk in inbound {
                    received.writeBuffer(&chunk)
                    if received.readableBytes >= limit { break }
                }
            } catch {}
            return String(decoding: received.readableBytesView, as: UTF8.self)
        }
    }

    /// Returns when `count` of `channels` have been closed, leaving the others open.
    public static func waitUntilClosed(_ count: Int, of channels: [any Channel]) async {
        let (closed, continuation) = AsyncStream.makeStream(of: Void.self)
        for channel in channels { channel.closeFuture.whenComplete { _ in continuation.yield() } }
        var seen = 0
        for await _ in closed {
            seen += 1
            if seen >= count { break }
        }
        continuation.finish()
    }

    /// Writes `bytes`, then reads until the server closes; returns the frames it sent.
    public static func sendRaw(_ bytes: [UInt8], port: Int) async throws -> [Frame] {
        let connection = try await rawTLS(port: port)
        return try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: bytes))
            var received = ByteBuffer()
            do {
                for try await var chunk in inbound { received.writeBuffer(&chunk) }
            } catch {}
            var decoder = FrameDecoder()
            var frames: [Frame] = []
            while let frame = try decoder.decode(buffer: &received) { frames.append(frame) }
            return frames
        }
    }

    /// A framed mTLS connection with `identity`, as a node or gateway would open it.
    public static func framed(
        port: Int,
        identity: TLSIdentity,
        trustRoot: X509Certificate
    ) async throws -> FramedChannel.Connection {
        try await FramedChannel.connect(
            host: "127.0.0.1",
            port: port,
            configuration: try TLSConfigurations.mutualClient(identity: identity, trustRoot: trustRoot),
            verifyServer: FramedChannel.requireControlPlane
        )
    }

    /// As a node on a framed connection: takes the next command, acknowledges it, reports
    /// `states` for its instance as events `1…` of `epoch`, and returns the command once every
    /// event is acknowledged.
    public static func takeCommand(
        _ frames: inout NIOAsyncChannelInboundStream<Frame>.AsyncIterator,
        _ outbound: NIOAsyncChannelOutboundWriter<Frame>,
        epoch: UInt64,
        reporting states: [InstanceState]
    ) async throws -> NodeCommand {
        var command: NodeCommand?
        var acks = 0
        while let frame = try await frames.next() {
            if frame.type == .nodeCommand {
                let received = try NodeCommand(payload: frame.payload)
                command = received
                try await outbound.write(CommandAck(commandID: received.commandID).frame())
                for (index, state) in states.enumerated() {
                    let sequence = UInt64(index + 1)
                    let status = InstanceStatus(instanceID: received.instanceID, state: state)
                    try await outbound.write(
                        InstanceEvent(epoch: epoch, sequence: sequence, status: status, timestampMicros: Int(sequence))
                            .frame()
                    )
                }
            }
            if frame.type == .eventAck { acks += 1 }
            if acks == states.count, let command { return command }
        }
        throw TestTimeout(what: "a command and \(states.count) event acknowledgements")
    }

    /// Sends `frames` in order on `connection` and returns everything received until close.
    public static func exchange(_ connection: FramedChannel.Connection, send frames: [Frame]) async throws -> [Frame] {
        try await connection.executeThenClose { inbound, outbound in
            for frame in frames { try await outbound.write(frame) }
            var received: [Frame] = []
            do {
                for try await frame in inbound { received.append(frame) }
            } catch {}
            return received
        }
    }
}

public typealias X509Certificate = X509.Certificate

/// Test templates.
public enum TestTemplates {
    public static let linux = "c12ccfa5-8757-411e-9505-128190e9854e"
    public static let mac = "6b135004-0c89-43bb-b892-74796b8d266c"

    public static func seed(_ database: BerthDatabase) async throws {
        guard try await database.template(id: linux) == nil else { return }
        let now = BerthDatabase.nowMicros()
        try await database.insertTemplate(
            TemplateRow(id: linux, name: "ubuntu-22.04", arch: "amd64", cpuCores: 2, ramMb: 4096, createdAt: now),
            versions: [
                TemplateVersionRow(templateId: linux, number: 1, tag: "base", size: 1 << 30, createdAt: now),
                TemplateVersionRow(templateId: linux, number: 2, tag: "ci", size: 1 << 30, createdAt: now),
            ]
        )
        try await database.insertTemplate(
            TemplateRow(id: mac, name: "macos-14", arch: "arm64", cpuCores: 4, ramMb: 8192, createdAt: now),
            versions: [TemplateVersionRow(templateId: mac, number: 1, tag: "vanilla", size: 1 << 30, createdAt: now)]
        )
    }
}
