import Foundation

/// curl with a cookie jar: the raw status line, headers and body of each answer. The jar
/// ignores ports, so one browser can go round several gateways on loopback.
public struct TestBrowser: Sendable {
    public init(base: String) { self.base = base }

    public let base: String
    public let jar = TestPaths.temporaryDirectory("jar").appendingPathComponent("cookies").path

    public struct Page: Sendable {
        public var status: Int
        public var headers: String
        public var body: String
        public func header(_ name: String) -> String? {
            headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
        }
    }

    /// A request of `path` on the gateway, or of a full URL (`http://…`) elsewhere.
    public func request(_ path: String, form: [(String, String)]? = nil, extra: [String] = []) async throws -> Page {
        var arguments = ["-s", "-i", "-c", jar, "-b", jar]
        if let form {
            for (key, value) in form { arguments += ["--data-urlencode", "\(key)=\(value)"] }
        }
        let output = try await Shell.run("/usr/bin/curl", arguments + extra + [path.hasPrefix("http") ? path : base + path])
        let text = output.stdout
        let split = text.range(of: "\r\n\r\n")
        let head = split.map { String(text[..<$0.lowerBound]) } ?? text
        let body = split.map { String(text[$0.upperBound...]) } ?? ""
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        return Page(status: status, headers: head, body: body)
    }

    /// The CSRF token of the session, read from a page's form.
    public func csrf(_ path: String = "/login") async throws -> String {
        let page = try await request(path)
        let marker = "name=\"_csrf\" value=\""
        guard let start = page.body.range(of: marker) else { throw BrowserError(message: "no form on \(path)") }
        return String(page.body[start.upperBound...].prefix { $0 != "\"" })
    }

    public func logIn(token: String) async throws -> Page {
        try await request(
            "/login",
            form: [("_csrf", try await csrf()), ("method", "token"), ("token", token), ("next", "/")]
        )
    }
}
