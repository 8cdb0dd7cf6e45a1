/// A value kept on the heap, so that a struct holding a large and usually absent value
/// stays small to copy (a heartbeat's instance entries are copied into their array).
final class Boxed<Value: Sendable & Equatable>: Sendable, Equatable {
    let value: Value

    init(_ value: Value) { self.value = value }

    static func == (lhs: Boxed, rhs: Boxed) -> Bool { lhs === rhs || lhs.value == rhs.value }
}
