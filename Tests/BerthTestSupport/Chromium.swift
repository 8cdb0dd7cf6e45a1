import Foundation
import NodeAgent
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
/// commands on the child's fd 3, answers and events on its fd 4, each JSON message ended
/// by a NUL byte). No WebDriver, no npm: the Debian `chromium` package is enough.
public final class Chromium: Sendable {
    struct Waiter {
        var method: String
        var sessionID: String?
        /// Only an event whose `params` pass this counts.
        var accepts: @Sendable ([String: Any]) -> Bool = { _ in true }
        /// Gets the event's message, or an error, once.
        var continuation: AsyncThrowingStream<Data, any Error>.Continuation

        func finish(_ result: Result<Data, any Error>) {
            switch result {
            case .success(let data):
                continuation.yield(data)
                continuation.finish()
            case .failure(let error):
                continuation.finish(throwing: error)
            }
        }
    }

    struct State {
        var nextID = 1
        var pending: [Int: CheckedContinuation<Data, any Error>] = [:]
        var waiters: [UUID: Waiter] = [:]
        var closed: String?
    }

    let process: ChildProcess
    let commands: Int32
    let profile: URL
    let state = Mutex(State())

    /// The browser binary: `$CHROMIUM`, else the first of Debian's names on the PATH.
    public static func locate() -> String? {
        if let path = ProcessInfo.processInfo.environment["CHROMIUM"],
            FileManager.default.isExecutableFile(atPath: path)
        {
            return path
        }
        for name in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: name) {
            return name
        }
        return nil
    }

    public init(executable: String, ignoreCertificateErrors: Bool = true) throws {
        var toBrowser: [Int32] = [0, 0]
        var fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw TestTimeout(what: "pipes for chromium") }
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("berth-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        var arguments = [
            executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--remote-debugging-pipe", "--user-data-dir=\(profile.path)", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--mute-audio", "--hide-scrollbars",
            "--window-size=1280,900",
        ]
        if ignoreCertificateErrors { arguments.append("--ignore-certificate-errors") }
        arguments.append("about:blank")
        process = try ChildProcess(
            arguments: arguments,
            directory: profile,
            environment: ProcessInfo.processInfo.environment,
            stdin: nil,
            stdout: profile.appendingPathComponent("stdout.log"),
            stderr: profile.appendingPathComponent("stderr.log"),
            descriptors: [3: toBrowser[0], 4: fromBrowser[1]]
        )
        Glibc.close(toBrowser[0])
        Glibc.close(fromBrowser[1])
        commands = toBrowser[1]
        let events = fromBrowser[0]
        let thread = Thread { [self] in readLoop(events) }
        thread.start()
    }

    /// Sends a command (to a page when `sessionID` is set) and returns its `result`.
    @discardableResult
    public func send(
        _ method: String,
        _ params: [String: Any] = [:],
        session: String? = nil
    ) async throws -> [String: Any] {
        let data: Data = try await withCheckedThrowingContinuation { continuation in
            let id: Int? = state.withLock { state in
                if let reason = state.closed {
                    continuation.resume(throwing: BrowserError(message: "browser closed: \(reason)"))
                    return nil
                }
                let id = state.nextID
                state.nextID += 1
                state.pending[id] = continuation
                return id
            }
            guard let id else { return }
            var message: [String: Any] = ["id": id, "method": method, "params": params]
            if let session { message["sessionId"] = session }
            guard var bytes = try? JSONSerialization.data(withJSONObject: message) else { return }
            bytes.append(0)
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(commands, raw.baseAddress! + offset, raw.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
        let object = (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        if let error = object["error"] as? [String: Any] {
            throw BrowserError(message: "\(method): \(error["message"] ?? error)")
        }
        return object["result"] as? [String: Any] ?? [:]
    }

    /// Runs `action`, then waits for the event `method` that it causes (the first whose
    /// `params` pass `accepts`).
    public func expectEvent(
        _ method: String,
        session: String?,
        timeout: Duration = .seconds(30),
        where accepts: @escaping @Sendable ([String: Any]) -> Bool = { _ in true },
        during action: () async throws -> Void
    ) async throws -> [String: Any] {
        let id = UUID()
        let (events, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
        state.withLock {
            $0.waiters[id] = Waiter(method: method, sessionID: session, accepts: accepts, continuation: continuation)
        }
        let timer = Task { [self] in
            try await Task.sleep(for: timeout)
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?
                .finish(.failure(BrowserError(message: "timed out waiting for \(method)")))
        }
        defer { timer.cancel() }
        do {
            try await action()
        } catch {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.finish(.failure(error))
            throw error
        }
        var iterator = events.makeAsyncIterator()
        guard let data = try await iterator.next() else { throw BrowserError(message: "no \(method) event") }
        let object = (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return object["params"] as? [String: Any] ?? [:]
    }

    /// A new tab, attached in flat mode.
    public func newPage() async throws -> BrowserPage {
        let target = try await send("Target.createTarget", ["url": "about:blank"])
        guard let targetID = target["targetId"] as? String else { throw BrowserError(message: "no target id") }
        let attached = try await send("Target.attachToTarget", ["targetId": targetID, "flatten": true])
        guard let session = attached["sessionId"] as? String else { throw BrowserError(message: "no session id") }
        let page = BrowserPage(browser: self, session: session)
        try await send("Page.enable", session: session)
        try await send("Runtime.enable", session: session)
        try await send("Network.enable", session: session)
        return page
    }

    public func close() async {
        try? await send("Browser.close")
        if await process.waitForExit(within: .seconds(10)) == nil {
            await process.stop(grace: .seconds(2))
        }
        Glibc.close(commands)
        try? FileManager.default.removeItem(at: profile)
    }

    /// What Chromium wrote to stderr (for a failing test's message).
    public var stderr: String {
        (try? String(contentsOf: profile.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
    }

    private func readLoop(_ fd: Int32) {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            buffer.append(contentsOf: chunk[0..<count])
            while let end = buffer.firstIndex(of: 0) {
                dispatch(Data(buffer[0..<end]))
                buffer.removeSubrange(0...end)
            }
        }
        Glibc.close(fd)
        let (pending, waiters) = state.withLock { state -> ([CheckedContinuation<Data, any Error>], [Waiter]) in
            state.closed = "pipe closed"
            defer {
                state.pending = [:]
                state.waiters = [:]
            }
            return (Array(state.pending.values), Array(state.waiters.values))
        }
        for continuation in pending { continuation.resume(throwing: BrowserError(message: "browser went away")) }
        for waiter in waiters { waiter.finish(.failure(BrowserError(message: "browser went away"))) }
    }

    private func dispatch(_ data: Data) {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return }
        if let id = object["id"] as? Int {
            state.withLock { $0.pending.removeValue(forKey: id) }?.resume(returning: data)
            return
        }
        guard let method = object["method"] as? String else { return }
        let session = object["sessionId"] as? String
        let params = object["params"] as? [String: Any] ?? [:]
        let matched = state.withLock { state -> [Waiter] in
            let keys = state.waiters.filter {
                $0.value.method == method && ($0.value.sessionID == nil || $0.value.sessionID == session)
                    && $0.value.accepts(params)
            }
            .map(\.key)
            return keys.compactMap { state.waiters.removeValue(forKey: $0) }
        }
        for waiter in matched { waiter.finish(.success(data)) }
    }
}

public struct BrowserError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// One tab. Waits are event-driven: a navigation waits for the load event, and
/// ``waitFor(_:timeout:)`` resolves from a MutationObserver inside the page.
public struct BrowserPage: Sendable {
    let browser: Chromium
    public let session: String

    /// Loads `url` and returns once its load event fired.
    public func navigate(_ url: String) async throws {
        _ = try await browser.expectEvent("Page.loadEventFired", session: session) {
            let result = try await browser.send("Page.navigate", ["url": url], session: session)
            if let error = result["errorText"] as? String { throw BrowserError(message: "navigate \(url): \(error)") }
        }
    }

    /// Evaluates `expression` (awaiting a promise) and returns its JSON value.
    @discardableResult
    public func evaluate(_ expression: String) async throws -> Any? {
        let result = try await browser.send(
            "Runtime.evaluate",
            ["expression": expression, "returnByValue": true, "awaitPromise": true],
            session: session
        )
        if let exception = result["exceptionDetails"] as? [String: Any] {
            let detail = (exception["exception"] as? [String: Any])?["description"] ?? exception["text"] ?? exception
            throw BrowserError(message: "\(detail)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Resolves when the JavaScript `condition` holds, checked on every DOM change.
    /// The condition is inlined, not `eval`ed: the dashboard's CSP forbids `eval`.
    public func waitFor(_ condition: String, timeout: Duration = .seconds(30)) async throws {
        let millis = Int(timeout.components.seconds * 1000)
        let quoted = String(decoding: try JSONSerialization.data(withJSONObject: [condition]), as: UTF8.self)
        try await evaluate(
            """
            new Promise((resolve, reject) => {
              const holds = () => { try { return Boolean(\(condition)); } catch (e) { return false; } };
              if (holds()) { resolve(true); return; }
              const observer = new MutationObserver(() => { if (holds()) { observer.disconnect(); resolve(true); } });
              observer.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
              setTimeout(() => { observer.disconnect(); reject(new Error("timed out waiting for: " + \(quoted)[0])); }, \(millis));
            })
            """
        )
    }

    /// Sets a field's value as typing would (input and change events fire).
    public func fill(_ selector: String, _ value: String) async throws {
        let arguments = String(decoding: try JSONSerialization.data(withJSONObject: [selector, value]), as: UTF8.self)
        try await evaluate(
            """
            (() => { const [s, v] = \(arguments); const el = document.querySelector(s);
              if (!el) throw new Error("no element " + s);
              el.focus(); el.value = v; el.dispatchEvent(new Event("input", { bubbles: true }));
              el.dispatchEvent(new Event("change", { bubbles: true })); return true; })()
            """
        )
    }

    /// Clicks the element and waits until the main frame has navigated to a URL that passes
    /// `arrived` (through any redirects and refreshes on the way), then for that page's load.
    public func clickAndWaitForNavigation(_ selector: String, to arrived: @escaping @Sendable (String) -> Bool) async throws {
        let quoted = String(decoding: try JSONSerialization.data(withJSONObject: [selector]), as: UTF8.self)
        _ = try await browser.expectEvent(
            "Page.frameNavigated",
            session: session,
            where: { params in
                let frame = params["frame"] as? [String: Any] ?? [:]
                return frame["parentId"] == nil && (frame["url"] as? String).map(arrived) == true
            }
        ) {
            try await evaluate(
                "(() => { const el = document.querySelector(\(quoted)[0]); if (!el) throw new Error('no element ' + \(quoted)[0]); el.click(); return true; })()"
            )
        }
        try await evaluate(
            "document.readyState === 'complete' || new Promise(resolve => addEventListener('load', () => resolve(true)))"
        )
    }

    /// Clicks the element and waits for the page it leads to (a form post, a link).
    public func clickAndWaitForLoad(_ selector: String) async throws {
        let quoted = String(decoding: try JSONSerialization.data(withJSONObject: [selector]), as: UTF8.self)
        _ = try await browser.expectEvent("Page.loadEventFired", session: session) {
            try await evaluate(
                "(() => { const el = document.querySelector(\(quoted)[0]); if (!el) throw new Error('no element ' + \(quoted)[0]); el.click(); return true; })()"
            )
        }
    }

    /// The page's text content under `selector` ("" when absent).
    public func text(_ selector: String = "body") async throws -> String {
        let quoted = String(decoding: try JSONSerialization.data(withJSONObject: [selector]), as: UTF8.self)
        return try await evaluate("(document.querySelector(\(quoted)[0]) || {}).innerText || ''") as? String ?? ""
    }

    public var url: String {
        get async throws { try await evaluate("location.href") as? String ?? "" }
    }

    /// Cookies the browser holds for the page, as DevTools reports them.
    public func cookies() async throws -> [[String: Any]] {
        try await browser.send("Network.getCookies", session: session)["cookies"] as? [[String: Any]] ?? []
    }

    /// Presses a key as a keyboard would (`Tab`, `Enter`).
    public func press(_ key: String) async throws {
        let codes = ["Tab": 9, "Enter": 13, "Escape": 27]
        for type in ["keyDown", "keyUp"] {
            var params: [String: Any] = [
                "type": type, "key": key, "code": key, "windowsVirtualKeyCode": codes[key] ?? 0,
            ]
            if key == "Enter" && type == "keyDown" { params["text"] = "\r" }
            try await browser.send("Input.dispatchKeyEvent", params, session: session)
        }
    }

    /// `prefers-color-scheme: dark` (or light) for the following renders.
    public func setColorScheme(dark: Bool) async throws {
        try await browser.send(
            "Emulation.setEmulatedMedia",
            ["features": [["name": "prefers-color-scheme", "value": dark ? "dark" : "light"]]],
            session: session
        )
    }

    /// A PNG of the whole page.
    public func screenshot(to file: URL) async throws {
        let shot = try await browser.send(
            "Page.captureScreenshot",
            ["format": "png", "captureBeyondViewport": true],
            session: session
        )
        guard let base64 = shot["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw BrowserError(message: "no screenshot data")
        }
        try data.write(to: file)
    }
}
