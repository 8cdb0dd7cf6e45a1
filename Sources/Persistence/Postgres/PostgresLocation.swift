import Foundation

/// Where the PostgreSQL database is: `postgres://USER[:PASSWORD]@HOST[:PORT][,HOST[:PORT]…]/DATABASE`.
///
/// Several hosts name a primary and its standbys, as libpq's multi-host URLs do; Berth
/// writes to whichever of them is writable (``PostgresPrimary``). The password may instead
/// come from a file or the environment, so that it need not be on the command line.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public struct Host: Sendable, Equatable {
        public var name: String
        public var port: Int

        public init(name: String, port: Int) {
            self.name = name
            self.port = port
        }
    }

    public var hosts: [Host]
    public var user: String
    public var password: String?
    public var database: String

    public init(hosts: [Host], user: String, password: String?, database: String) {
        self.hosts = hosts
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses a `postgres://` or `postgresql://` URL; throws a message naming what is wrong.
    public init(url text: String) throws {
        var rest = Substring(text)
        guard let scheme = ["postgres://", "postgresql://"].first(where: { rest.hasPrefix($0) }) else {
            throw PersistenceError(.badLocation, "a database URL starts with postgres://")
        }
        rest = rest.dropFirst(scheme.count)
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
        guard let slash = rest.firstIndex(of: "/") else {
            throw PersistenceError(.badLocation, "the database URL names no database (postgres://user@host/DATABASE)")
        }
        let database = String(rest[rest.index(after: slash)...]).removingPercentEncoding ?? ""
        var authority = rest[..<slash]
        var user = "postgres"
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = String(credentials[..<colon]).removingPercentEncoding ?? ""
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEncoding
            } else {
                user = String(credentials).removingPercentEncoding ?? ""
            }
        }
        var hosts: [Host] = []
        for entry in authority.split(separator: ",", omittingEmptySubsequences: false) {
            var name = Substring(entry)
            var port = 5432
            if let colon = entry.lastIndex(of: ":"), !entry.hasSuffix("]") {
                name = entry[..<colon]
                guard let number = Int(entry[entry.index(after: colon)...]), (1...65_535).contains(number) else {
                    throw PersistenceError(.badLocation, "bad port in database host \(entry)")
                }
                port = number
            }
            if name.hasPrefix("["), name.hasSuffix("]") { name = name.dropFirst().dropLast() }
            guard !name.isEmpty else { throw PersistenceError(.badLocation, "the database URL has an empty host") }
            hosts.append(Host(name: String(name), port: port))
        }
        guard !database.isEmpty, !user.isEmpty else {
            throw PersistenceError(.badLocation, "the database URL needs a user and a database")
        }
        self.init(hosts: hosts, user: user, password: password, database: database)
    }

    /// The URL without the password, for logs.
    public var description: String {
        let hostList = hosts.map { $0.name.contains(":") ? "[\($0.name)]:\($0.port)" : "\($0.name):\($0.port)" }
        return "postgres://\(user)\(password == nil ? "" : ":<redacted>")@\(hostList.joined(separator: ","))/\(database)"
    }
}
