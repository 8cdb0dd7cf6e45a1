/// The rules for an instance's tags (Berth's extension), checked by the gateway for a clear
/// error and again by the control plane, which decides.
public enum InstanceTags {
    /// The most tags one instance carries.
    public static let maximumCount = 32
    /// The longest tag, in bytes.
    public static let maximumLength = 64

    /// The tags without repeats, in the order given; throws ``Problem`` naming the first
    /// tag that breaks a rule. A tag is 1…``maximumLength`` letters, digits and `-_.:/=@+`,
    /// so a comma-separated filter (`?tags=a,b`) can always name it.
    public static func normalized(_ tags: [String]) throws(Problem) -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        for tag in tags where seen.insert(tag).inserted {
            guard !tag.isEmpty, tag.utf8.count <= maximumLength else {
                throw Problem("a tag must be 1 to \(maximumLength) characters long")
            }
            guard tag.unicodeScalars.allSatisfy({ allowed.contains($0) }) else {
                throw Problem("tag \(tag) may hold only letters, digits and -_.:/=@+")
            }
            result.append(tag)
        }
        guard result.count <= maximumCount else { throw Problem("an instance carries at most \(maximumCount) tags") }
        return result
    }

    /// Which tags a comma-separated filter names (empty entries ignored).
    public static func filter(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    /// Whether `tags` holds every tag of `wanted`.
    public static func matches(_ tags: [String], wanted: [String]) -> Bool {
        wanted.allSatisfy { tags.contains($0) }
    }

    /// A tag list that breaks a rule, with the reason.
    public struct Problem: Error, Sendable {
        public let message: String
        init(_ message: String) { self.message = message }
    }

    private static let allowed: Set<Unicode.Scalar> = Set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/=@+".unicodeScalars
    )
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " }),
            let last = scalars.lastIndex(where: { $0 != " " })
        else { return "" }
        return String(scalars[first...last])
    }
}
