import Foundation
public import Jobs

/// Writes one campaign and its messages into the outbox, inside the caller's transaction.
///
/// Messages are buffered in chunks of `chunkSize`; each chunk takes a block of ids from
/// the `messages` sequence and goes in with two binary COPYs (`messages`, then
/// `message_bodies`), so a million-row file streams through in bounded memory.
///
/// Idempotent: the campaign is found by name (created if new) and locked for the rest
/// of the transaction, so concurrent submits of the same campaign run one after the
/// other; a message whose `(campaign, external id)` is already there is counted, not
/// inserted. Recipients on the opt-out list go in as `suppressed`, never to be sent.
public final class CampaignEnqueuer {
    public struct Result: Sendable, Equatable {
        public var campaignID: Int64
        public var campaignCreated: Bool
        /// New messages, `pending`.
        public var enqueued = 0
        /// New messages, `suppressed` because the recipient opted out.
        public var suppressed = 0
        /// Messages of the file that were already in the outbox.
        public var alreadyPresent = 0
        /// Rows rejected (with `--skip-invalid`) and recorded in `job_rejections`.
        public var rejected = 0
    }

    private let connection: Connection
    private let optOutScope: OptOutScope
    private let provider: String
    private let chunkSize: Int
    private var existing: Set<String>
    private var seenInThisRun: Set<String> = []
    private var buffer: [ValidatedMessage] = []
    private var rejections: [JobError] = []
    public private(set) var result: Result

    /// Finds or creates the campaign named in `header` and locks it.
    public init(
        connection: Connection, header: CampaignHeader, sourceFile: String?,
        optOutScope: OptOutScope, chunkSize: Int = 5_000
    ) async throws {
        self.connection = connection
        self.optOutScope = optOutScope
        provider = header.account
        self.chunkSize = max(1, chunkSize)
        let window = header.window.map(CampaignWindow.init) ?? header.recipientWindow
        let created = try await connection.query("""
            -- a new campaign; an existing one of that name is left as it is
            INSERT INTO campaigns (name, provider, from_number, template, send_at, expires_at,
                                   window_start, window_end, window_tz, source_file, quiet_hours)
            VALUES (\(header.campaign), \(header.account), \(header.from.e164), \(header.template?.source),
                    \(header.sendAt), \(header.expiresAt),
                    \(window.map { Self.clock($0.startMinute) })::time, \(window.map { Self.clock($0.endMinute) })::time,
                    \(window.map { $0.timeZone?.identifier ?? "recipient" }), \(sourceFile), \(header.quietHours?.rawValue))
            ON CONFLICT (name) DO NOTHING
            RETURNING id
            """).scalar(Int64.self)
        // Lock the campaign row: a concurrent submit of the same campaign waits here.
        let id = try await connection.query("SELECT id FROM campaigns WHERE name = \(header.campaign) FOR UPDATE").scalar(Int64.self)
        guard let id else { throw PostgresError(.server, "campaign '\(header.campaign)' vanished during submit") }
        result = Result(campaignID: id, campaignCreated: created != nil)
        existing = created != nil ? [] : Set(
            try await connection.query("SELECT external_id FROM messages WHERE campaign_id = \(id)").map { try $0.decode(String.self, at: 0) })
    }

    static func clock(_ minute: Int) -> String {
        let h = minute / 60, m = minute % 60
        return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }

    /// Adds one validated message (written when the chunk fills).
    public func add(_ message: ValidatedMessage) async throws {
        if existing.contains(message.externalID) {
            result.alreadyPresent += 1
            return
        }
        guard seenInThisRun.insert(message.externalID).inserted else {
            result.alreadyPresent += 1  // the same id in two files of one submit
            return
        }
        buffer.append(message)
        if buffer.count >= chunkSize { try await flush() }
    }

    /// Records a rejected row (for `--skip-invalid`), so the campaign's report shows it.
    public func reject(_ error: JobError) async throws {
        rejections.append(error)
        if rejections.count >= 1_000 { try await flushRejections() }
    }

    /// Writes what is buffered and wakes the workers (the notification is delivered when
    /// the caller's transaction commits).
    public func finish() async throws -> Result {
        try await flush()
        try await flushRejections()
        if result.enqueued > 0 { try await connection.notify(Outbox.workChannel) }
        return result
    }

    private func flush() async throws {
        guard !buffer.isEmpty else { return }
        let chunk = buffer
        buffer.removeAll(keepingCapacity: true)
        let campaignID = result.campaignID

        // Which (recipient, sender) pairs have opted out: the claim's rule (`Outbox.optedOut`).
        struct Pair: Hashable { var to: String, from: String }
        let pairs = Array(Set(chunk.map { Pair(to: $0.to.address, from: $0.from.e164) }))
        let optedOutPairs = Set(try await connection.query("""
            SELECT p.to_number, p.from_number
              FROM unnest(\(pairs.map(\.to)), \(pairs.map(\.from))) AS p(to_number, from_number)
             WHERE \(Outbox.optedOut(phone: "p.to_number", sender: "p.from_number", scope: optOutScope))
            """).map { Pair(to: try $0["to_number"], from: try $0["from_number"]) })
        func isOptedOut(_ m: ValidatedMessage) -> Bool { optedOutPairs.contains(Pair(to: m.to.address, from: m.from.e164)) }

        // A block of ids for the chunk, so bodies can reference their messages.
        let ids = try await connection.query("""
            SELECT array_agg(nextval(pg_get_serial_sequence('messages', 'id'))) FROM generate_series(1, \(chunk.count))
            """).scalar([Int64].self) ?? []
        guard ids.count == chunk.count else { throw PostgresError(.server, "could not allocate message ids") }

        let now = Date()
        var suppressedIDs: [Int64] = []
        try await connection.copyFrom(table: "messages", columns: [
            "id", "campaign_id", "external_id", "state", "provider", "from_number", "to_number", "segments",
            "due_at", "next_attempt_at", "expires_at", "final_at", "error_class",
        ]) { writer in
            for (id, m) in zip(ids, chunk) {
                let suppressed = isOptedOut(m)
                if suppressed { suppressedIDs.append(id) }
                try await writer.append(
                    id, campaignID, m.externalID, (suppressed ? MessageState.suppressed : .pending).rawValue, provider, m.from.e164, m.to.address,
                    Int32(m.segments.segments), m.dueAt, m.dueAt, m.expiresAt,
                    suppressed ? Optional(now) : nil, suppressed ? Optional("opted_out") : nil)
            }
        }
        try await connection.copyFrom(table: "message_bodies", columns: ["message_id", "body"]) { writer in
            for (id, m) in zip(ids, chunk) { try await writer.append(id, m.body) }
        }
        if !suppressedIDs.isEmpty {
            // suppression at submit is a transition worth seeing in the timeline
            try await connection.execute(Outbox.eventsInsert(Outbox.EventRow(
                messageID: "id", kind: "\(EventKind.suppressed)", source: "\(EventSource.dispatcher)",
                toState: "\(MessageState.suppressed)", errorClass: "'opted_out'",
                detail: "'recipient is on the opt-out list'"), "FROM unnest(\(suppressedIDs)) AS id"))
        }
        result.suppressed += suppressedIDs.count
        result.enqueued += chunk.count - suppressedIDs.count
    }

    private func flushRejections() async throws {
        guard !rejections.isEmpty else { return }
        let batch = rejections
        rejections.removeAll()
        let locations = batch.map { e -> String in
            switch e.location {
            case .file: e.file
            case let .position(line, column): "\(e.file):\(line):\(column)"
            case let .path(path): "\(e.file): \(path)"
            case let .option(name): name
            }
        }
        try await connection.execute("""
            INSERT INTO job_rejections (campaign_id, location, external_id, error)
            SELECT \(result.campaignID), * FROM unnest(\(locations), \(batch.map(\.messageID)), \(batch.map(\.message)))
            """)
        result.rejected += batch.count
    }
}
