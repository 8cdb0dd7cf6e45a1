import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// The client side of `berth vm port-forward`: each local connection becomes one
/// `POST /berth/v1/vm/port-forward` stream, its bytes the request body and the answer's.
struct PortForwarder: Sendable {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    let gateway: String
    let authorization: String?
    let instance: String
    let guestPort: Int
    let http: HTTPClient

    /// The header for a credential: an access token is a bearer; anything else is taken for
    /// the root token (`Basic root:<token>`, as Anka clients send it).
    static func authorization(_ token: String?) -> String? {
        guard let token, !token.isEmpty else { return nil }
        if token.hasPrefix("bat1.") { return "Bearer " + token }
        return "Basic " + Data("root:\(token)".utf8).base64EncodedString()
    }

    /// Listens on 127.0.0.1:`localPort` until cancelled; `onListening` gets the bound port.
    func run(localPort: Int, onListening: @Sendable (Int) -> Void) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: "127.0.0.1", port: localPort) { channel in
                channel.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: channel) }
            }
        onListening(server.channel.localAddress?.port ?? localPort)
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await forward(connection) }
                }
            }
        }
    }

    /// Carries one connection on stdin and stdout (ssh's ProxyCommand), which must be pipes
    /// or sockets, as ssh gives them: a regular file or a terminal cannot be waited on.
    func runOnStandardStreams() async throws {
        let connection: Connection
        do {
            connection = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .takingOwnershipOfDescriptors(input: 0, output: 1) { channel in
                    channel.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: channel) }
                }
        } catch {
            throw PortForwardError(
                "--stdio needs stdin and stdout to be pipes or sockets, as ssh's ProxyCommand gives them (\(error))"
            )
        }
        await forward(connection)
    }

    /// One tunnel: the connection's bytes up, the instance's back, until either side ends.
    func forward(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var request = HTTPClientRequest(
                    url: "\(gateway)/berth/v1/vm/port-forward?id=\(instance)&port=\(guestPort)"
                )
                request.method = .POST
                if let authorization { request.headers.add(name: "Authorization", value: authorization) }
                request.body = .stream(inbound, length: .unknown)
                // A tunnel lasts as long as its connection does.
                let response = try await http.execute(request, timeout: .hours(24 * 365))
                guard response.status == .ok else {
                    let body = try await response.body.collect(upTo: 1 << 16)
                    let message =
                        ((try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any])?["message"]
                        as? String ?? String(buffer: body)
                    FileHandle.standardError.write(
                        Data("port-forward refused (\(response.status.code)): \(message)\n".utf8)
                    )
                    return
                }
                for try await buffer in response.body { try await outbound.write(buffer) }
            }
        } catch {
            FileHandle.standardError.write(Data("port-forward: \(error)\n".utf8))
        }
    }
}

/// A port-forward that cannot start, said plainly.
struct PortForwardError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
