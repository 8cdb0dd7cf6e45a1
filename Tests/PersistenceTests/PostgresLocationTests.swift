import Persistence
import Testing

/// libpq's URL form, with several hosts for a primary and its standbys.
@Suite struct PostgresLocationTests {
    @Test func hostsUserPasswordAndDatabase() throws {
        let location = try PostgresLocation(url: "postgres://berth:s%40cret@pg1.example:5433,pg2.example,[::1]:6000/berth?sslmode=disable")
        #expect(
            location.hosts == [
                .init(name: "pg1.example", port: 5433), .init(name: "pg2.example", port: 5432),
                .init(name: "::1", port: 6000),
            ]
        )
        #expect(location.user == "berth" && location.password == "s@cret" && location.database == "berth")
        #expect(location.description == "postgres://berth:<redacted>@pg1.example:5433,pg2.example:5432,[::1]:6000/berth")
        let plain = try PostgresLocation(url: "postgresql://127.0.0.1/fleet")
        #expect(plain.user == "postgres" && plain.password == nil && plain.hosts == [.init(name: "127.0.0.1", port: 5432)])
    }

    @Test func whatCannotBeUsedIsNamed() {
        for (url, reason) in [
            ("mysql://h/db", "starts with postgres://"),
            ("postgres://h", "names no database"),
            ("postgres://u@h:99999/db", "bad port"),
            ("postgres://u@h1,,h2/db", "empty host"),
            ("postgres://u@h/", "needs a user and a database"),
        ] {
            let error = #expect(throws: PersistenceError.self) { try PostgresLocation(url: url) }
            #expect(error?.code == .badLocation && error?.reason.contains(reason) == true, "\(url): \(String(describing: error))")
        }
    }
}
