/// A piece of HTML whose interpolations are escaped unless they are ``HTML`` themselves.
///
/// Every page of the dashboard is built from these, so a value from the fleet (a node
/// name, an external id, a log line) can only reach the page as text.
struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
    private(set) var text: String

    init(stringLiteral value: String) { text = value }

    init(stringInterpolation: StringInterpolation) { text = stringInterpolation.text }

    /// Markup that is already safe (built here, never from input).
    init(unsafe text: String) { self.text = text }

    static let empty = HTML(unsafe: "")

    var description: String { text }

    static func + (lhs: HTML, rhs: HTML) -> HTML { HTML(unsafe: lhs.text + rhs.text) }

    /// Text with `& < > " '` replaced by their entities: safe in element content and in
    /// quoted attribute values.
    static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    struct StringInterpolation: StringInterpolationProtocol {
        var text = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        mutating func appendLiteral(_ literal: String) { text += literal }
        mutating func appendInterpolation(_ value: String) { text += HTML.escape(value) }
        mutating func appendInterpolation(_ value: Substring) { text += HTML.escape(String(value)) }
        mutating func appendInterpolation(_ value: Int) { text += String(value) }
        mutating func appendInterpolation(_ html: HTML) { text += html.text }
        mutating func appendInterpolation(_ parts: [HTML]) { for part in parts { text += part.text } }
        mutating func appendInterpolation(_ html: HTML?) { text += html?.text ?? "" }
    }
}

extension Sequence {
    /// Renders each element and joins the results.
    func html(_ render: (Element) throws -> HTML) rethrows -> HTML {
        var out = ""
        for element in self { out += try render(element).text }
        return HTML(unsafe: out)
    }
}
