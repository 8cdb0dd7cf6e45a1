import ServiceLifecycle

/// Adapts an async body to swift-service-lifecycle, so SIGINT/SIGTERM stop it cleanly.
///
/// Bodies that observe graceful shutdown themselves (the control plane, the HTTP server)
/// get the chance to finish in-flight work; others are cancelled (`cancelOnShutdown`).
struct RunService: Service {
    let body: @Sendable () async throws -> Void
    let cancelOnShutdown: Bool

    func run() async throws {
        if cancelOnShutdown {
            try await cancelWhenGracefulShutdown { try await body() }
        } else {
            try await body()
        }
    }

    /// Runs `body` until it returns or the process is asked to stop.
    static func run(
        label: String,
        cancelOnShutdown: Bool = false,
        _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: RunService(body: body, cancelOnShutdown: cancelOnShutdown))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: .init(label: label)
            )
        )
        do {
            try await group.run()
        } catch is CancellationError {
            return
        }
    }
}
