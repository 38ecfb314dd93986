import Store

/// The campaigns page's rows, per filter, kept for a while: the page reads
/// `campaign_report`, which counts every message of every campaign (a full scan: seconds at
/// a million messages), while it is open in browsers that refresh it on every change.
///
/// - A copy younger than `fresh` is served as it is.
/// - An older one, or one from before the latest change notification, is still served while
///   younger than `maxAge`, and one recomputation starts in the background (at most one per
///   filter at a time), so the next request gets newer figures.
/// - Past `maxAge`, or without a copy, the request computes the rows itself.
///
/// So the figures shown are at most `maxAge` old (counted from the start of the query that
/// made them). The console's own actions clear the cache: an operator sees the result of an
/// action at once. A computation that started before the clear, still running then, is not
/// kept: its rows may predate the action.
actor ConsoleListCache {
    struct Entry {
        var rows: [ConsoleRows.Campaign]
        var at: ContinuousClock.Instant
        var generation: Int
    }

    private var entries: [String: Entry] = [:]
    private var refreshing: Set<String> = []
    /// The latest `clear()`: rows from a computation started before it are not kept.
    private var clearedAt: ContinuousClock.Instant?
    private let clock = ContinuousClock()
    /// Filters kept at most (the oldest copy goes first).
    static let capacity = 32

    func rows(key: String, generation: Int, fresh: Duration, maxAge: Duration,
              load: @escaping @Sendable () async throws -> [ConsoleRows.Campaign]) async throws -> [ConsoleRows.Campaign] {
        let now = clock.now
        if let entry = entries[key], now - entry.at < maxAge {
            if (now - entry.at >= fresh || entry.generation != generation) && !refreshing.contains(key) {
                refreshing.insert(key)
                Task { await self.refresh(key, generation: generation, load) }
            }
            return entry.rows
        }
        let started = clock.now
        let rows = try await load()
        store(key, Entry(rows: rows, at: started, generation: generation))
        return rows
    }

    private func refresh(_ key: String, generation: Int, _ load: @Sendable () async throws -> [ConsoleRows.Campaign]) async {
        defer { refreshing.remove(key) }
        let started = clock.now
        if let rows = try? await load() { store(key, Entry(rows: rows, at: started, generation: generation)) }
    }

    private func store(_ key: String, _ entry: Entry) {
        if let current = entries[key], current.at > entry.at { return }
        if let clearedAt, entry.at <= clearedAt { return }
        entries[key] = entry
        if entries.count > Self.capacity, let oldest = entries.min(by: { $0.value.at < $1.value.at })?.key {
            entries.removeValue(forKey: oldest)
        }
    }

    /// Forgets every copy (after an action).
    func clear() {
        entries.removeAll()
        clearedAt = clock.now
    }

    /// Whether a background computation for `key` is running (for tests).
    func isRefreshing(_ key: String) -> Bool { refreshing.contains(key) }
}
