import Foundation
import TLSTransport
import WireProtocol

/// Reads a TAP bearer: `Authorization: Bearer <base64 of the JSON of the shake's data>`.
///
/// Clients serialise that JSON differently (compact, pretty-printed with a trailing
/// newline, keys in any order) and encode the base64 with or without padding, so the
/// header is decoded and parsed, never compared as a string.
enum BearerCredential {
    /// What follows `Bearer ` in an `Authorization` header, trimmed; `nil` for other schemes.
    static func credentials(from header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    /// The TAP session an `Authorization: Bearer …` header names.
    static func principal(from header: String) -> Principal? {
        credentials(from: header).flatMap(principal(fromCredentials:))
    }

    /// The TAP session a bearer's `credentials` name.
    static func principal(fromCredentials credentials: String) -> Principal? {
        guard let data = Base64URL.decode(credentials),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let sessionID = object["sessionId"] as? String, !sessionID.isEmpty,
            let token = object["token"] as? String, !token.isEmpty
        else { return nil }
        return Principal(kind: .apiKey, name: object["userName"] as? String ?? "", sessionID: sessionID, token: token)
    }
}
