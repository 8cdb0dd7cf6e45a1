import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body (or query), keeping repeated keys in order.
struct FormData: Sendable {
    private(set) var pairs: [(String, String)] = []

    init(pairs: [(String, String)] = []) { self.pairs = pairs }

    init(encoded: String) {
        for part in encoded.split(separator: "&") where !part.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            pairs.append((Self.decode(pieces[0]), pieces.count > 1 ? Self.decode(pieces[1]) : ""))
        }
    }

    /// Reads a form body of at most 1 MiB.
    static func read(_ request: Request) async throws -> FormData {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        return FormData(encoded: String(buffer: buffer))
    }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// The first value of `key`, trimmed; `nil` when absent or blank.
    subscript(_ key: String) -> String? {
        guard let value = pairs.first(where: { $0.0 == key })?.1 else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The value exactly as sent (a startup script keeps its whitespace).
    func raw(_ key: String) -> String? { pairs.first(where: { $0.0 == key })?.1 }

    /// Every non-blank value of `key`, in order.
    func values(_ key: String) -> [String] {
        pairs.filter { $0.0 == key }.map { $0.1.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A whole number in `range`, or `nil` when absent; a bad one is a ``PortalError``.
    func int(_ key: String, label: String, in range: ClosedRange<Int> = 0...Int.max) throws -> Int? {
        guard let text = self[key] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw GatewayError(
                .badRequest,
                "\(label) must be a whole number from \(range.lowerBound) to \(range.upperBound)"
            )
        }
        return value
    }

    /// `key=value` for each of `keys` that has a value, percent-encoded, for a URL's query.
    func queryItems(_ keys: [String]) -> [String] {
        keys.compactMap { key in self[key].map { "\(key)=\(PortalLayout.percentEncoded($0))" } }
    }

    /// The body again, for the hidden fields of a confirmation page.
    func without(_ keys: Set<String>) -> [(String, String)] { pairs.filter { !keys.contains($0.0) } }
}
