import Foundation
import Hummingbird

/// A JSON request body, parsed whatever the Content-Type (Anka's curl examples send
/// `-d` without one), with typed field access that reports bad types as 400.
struct RequestJSON {
    let fields: [String: Any]

    static let maxBodySize = 1 << 20

    /// Reads and parses the body; an empty body is an empty object.
    static func read(_ request: Request) async throws -> RequestJSON {
        guard let value = try await readValue(request) else { return RequestJSON(fields: [:]) }
        guard let fields = value as? [String: Any] else {
            throw GatewayError(.badRequest, "request body must be a JSON object")
        }
        return RequestJSON(fields: fields)
    }

    /// Reads a body that is a JSON array of objects; an empty body is an empty array.
    static func readArray(_ request: Request) async throws -> [RequestJSON] {
        guard let value = try await readValue(request) else { return [] }
        guard let array = value as? [Any] else { throw GatewayError(.badRequest, "request body must be a JSON array") }
        return try array.map {
            guard let fields = $0 as? [String: Any] else {
                throw GatewayError(.badRequest, "every element of the request body must be a JSON object")
            }
            return RequestJSON(fields: fields)
        }
    }

    /// The parsed body, or `nil` when it is empty or only whitespace.
    private static func readValue(_ request: Request) async throws -> Any? {
        var request = request
        let buffer = try await request.collectBody(upTo: maxBodySize)
        return try parse(buffer.readableBytesView)
    }

    /// Parses body bytes: `nil` when they are empty or only whitespace.
    static func parse(_ bytes: some Collection<UInt8>) throws -> Any? {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return nil }
        do {
            return try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw GatewayError(.badRequest, "request body is not valid JSON")
        }
    }

    func has(_ key: String) -> Bool { fields[key] != nil && !(fields[key] is NSNull) }

    func string(_ key: String) throws -> String? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        if let string = value as? String { return string }
        throw GatewayError(.badRequest, "\(key) must be a string")
    }

    /// `true` for JSON `true`/`false`. (On Linux, `1 is Bool` holds for any NSNumber 0 or 1,
    /// so the check looks at the boxed type instead.)
    static func isBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c" || String(describing: type(of: number)).contains("Boolean")
    }

    /// Integers, also when sent as numeric strings (Anka's own examples do that).
    func int(_ key: String) throws -> Int? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        if Self.isBoolean(value) { throw GatewayError(.badRequest, "\(key) must be an integer") }
        if let int = value as? Int { return int }
        if let double = value as? Double, double == double.rounded(), abs(double) < 1e15 { return Int(double) }
        if let string = value as? String, let int = Int(string.trimmingCharacters(in: .whitespaces)) { return int }
        throw GatewayError(.badRequest, "\(key) must be an integer")
    }

    /// Booleans, also as `"true"`/`"false"` strings.
    func bool(_ key: String) throws -> Bool? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        if Self.isBoolean(value), let number = value as? NSNumber { return number.boolValue }
        if let string = value as? String, let bool = Bool(string.lowercased()) { return bool }
        throw GatewayError(.badRequest, "\(key) must be a boolean")
    }

    /// `true` when the key is present with JSON `null`.
    func isNull(_ key: String) -> Bool { fields[key] is NSNull }

    /// An array of strings; a single string is taken as a one-element array.
    func stringArray(_ key: String) throws -> [String]? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        if let single = value as? String { return [single] }
        guard let array = value as? [Any] else { throw GatewayError(.badRequest, "\(key) must be an array of strings") }
        return try array.map {
            guard let string = $0 as? String else {
                throw GatewayError(.badRequest, "\(key) must be an array of strings")
            }
            return string
        }
    }

    func object(_ key: String) throws -> [String: Any]? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        if let object = value as? [String: Any] { return object }
        throw GatewayError(.badRequest, "\(key) must be an object")
    }
}
