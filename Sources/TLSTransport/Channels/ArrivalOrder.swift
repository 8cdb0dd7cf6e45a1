import NIOCore

/// Values held by key, removable in any order, and read back oldest first.
///
/// Removal is a dictionary removal: the arrival order skips removed keys lazily, and is
/// compacted when most of it is stale, so it cannot grow without bound.
struct ArrivalOrder<Key: Hashable, Value> {
    private var values: [Key: Value] = [:]
    private var order = CircularBuffer<Key>()

    var count: Int { values.count }

    /// Holds `value` under `key`, a key not held already, as the newest.
    mutating func append(_ key: Key, _ value: Value) {
        values[key] = value
        order.append(key)
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Value? {
        guard let value = values.removeValue(forKey: key) else { return nil }
        if order.count > 4 * max(16, values.count) {
            order = CircularBuffer(order.filter { values[$0] != nil })
        }
        return value
    }

    /// The oldest value still held.
    mutating func oldest() -> (key: Key, value: Value)? {
        while let key = order.first {
            if let value = values[key] { return (key, value) }
            order.removeFirst()
        }
        return nil
    }
}
