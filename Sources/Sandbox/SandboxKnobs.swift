import Foundation

/// How the sandbox behaves. Durations are seconds (fractional allowed), rates are fractions 0…1.
/// JSON profile files decode into this (every field optional; see `SandboxConfiguration`).
public struct SandboxKnobs: Sendable, Codable, Equatable {
    /// Fraction of send requests answered 500 without accepting the message.
    public var serverErrorRate: Double = 0
    /// Fraction of send requests that accept the message and then answer only after
    /// `slowAnswerDelay` — longer than a client's timeout, so the message exists but the client
    /// sees a timeout (exercises in-doubt reconciliation).
    public var slowAnswerRate: Double = 0
    public var slowAnswerDelay: Double = 15
    /// Accepted → sent (the "sent" callback).
    public var sentDelay: Double = 0
    /// Accepted → final delivery state, drawn uniformly from this range (at least `sentDelay`).
    public var deliveryDelayMin: Double = 0
    public var deliveryDelayMax: Double = 0
    /// Status callbacks on/off.
    public var callbacks: Bool = true
    /// Restcomm: after the "sent" event, the delivery event (delivered/undelivered). Off: only
    /// the "sent" (or "failed") event; the client learns delivery by polling. (Plum's result_url
    /// gets no delivery news unless `plumCallbackDelivery` says so.)
    public var deliveryCallbacks: Bool = true
    /// Plum `messages.json` items also carry `delivery_status` once it is known. The provider's
    /// documented list items have none: delivery is read from `status.json`.
    public var plumListDeliveryStatus: Bool = false
    /// What Plum's result_url is told about delivery (see `PlumCallbackDelivery`).
    public var plumCallbackDelivery: PlumCallbackDelivery = .none
    /// Fraction of callbacks posted twice.
    public var duplicateCallbackRate: Double = 0
    /// Fraction of messages whose callbacks arrive in the wrong order (Restcomm: delivery event
    /// before the sent event; Plum: a stale "queued" after "sent").
    public var outOfOrderCallbackRate: Double = 0
    /// Per-sender segment rate; above it Plum answers 429 and Restcomm 429 with code 30001
    /// (queue overflow). 0 means unlimited.
    public var segmentsPerSecond: Double = 0
    /// Segments a sender may send at once after an idle spell.
    public var burstSegments: Double = 10
    /// Seed of the sandbox's random choices (fault draws, delays, ids).
    public var seed: UInt64 = 1

    // MARK: Faults after acceptance, outages, what is stored

    /// Fraction of send requests that accept the message and then answer a 5xx (a provider's
    /// front end failing after the provider committed): the message exists, the client sees an error.
    public var acceptThen5xxRate: Double = 0
    /// The first this many accepted sends answer that way (then `acceptThen5xxRate` applies).
    public var acceptThen5xxCount: Int = 0
    /// The status of those answers; 0 draws each from 500, 502 and 504.
    public var acceptThen5xxStatus: Int = 0
    /// Fraction of send requests that commit late: the answer hangs `lateCommitDelay` seconds
    /// (past a client's timeout) and the message shows in the list and status only after that
    /// (plus `listLag`); its callbacks come that much later too.
    public var lateCommitRate: Double = 0
    public var lateCommitDelay: Double = 15
    /// Accepted messages appear in Plum `messages.json` / `status.json` and Restcomm's list and
    /// single-message answer only this many seconds after acceptance (every send).
    public var listLag: Double = 0
    /// An outage: for `outageSeconds`, from `outageStart` seconds after the knobs were set
    /// (sandbox start or `POST /sandbox/knobs`), every provider request — reads included — is
    /// refused (`outageMode`). 0: no outage.
    public var outageSeconds: Double = 0
    public var outageStart: Double = 0
    public var outageMode: OutageMode = .refuse
    /// What the provider stores of a body (and shows in its list and status answers).
    public var bodyNormalisation: BodyNormalisation = .none

    public init() {}

    /// How requests are refused during an outage.
    public enum OutageMode: String, Sendable, Codable, CaseIterable {
        /// A front end with no provider behind it: `503 Service Unavailable`, nothing read or stored.
        case refuse
        /// The connection is reset (TCP RST) once the request has been read, without an answer;
        /// nothing is stored.
        case reset
    }

    /// Body rewriting on store.
    public enum BodyNormalisation: String, Sendable, Codable, CaseIterable {
        /// Stored as sent (the documented behaviour).
        case none
        /// Leading and trailing whitespace removed.
        case trim
        /// CRLF and lone CR become LF.
        case crlf

        func apply(_ body: String) -> String {
            switch self {
            case .none: body
            case .trim: body.trimmingCharacters(in: .whitespacesAndNewlines)
            case .crlf: body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            }
        }
    }

    /// Plum's result_url callbacks: the documentation promises a POST of `sms_message_id` and
    /// `status` after the message is sent, nothing about delivery. Other readings:
    public enum PlumCallbackDelivery: String, Sendable, Codable, CaseIterable {
        /// Only status changes: `status=sent` (or `failed`). The documented behaviour.
        case none
        /// After `sent`, a second POST with `status=delivered` or `status=undelivered`.
        case status
        /// After `sent`, a second POST with `status=sent` and `delivery_status=delivered|undelivered`.
        case deliveryStatus = "delivery_status"
    }

    /// No faults, instant delivery, no rate limit.
    public static let perfect = SandboxKnobs()

    /// What a new user sees: small delays, a low 5xx rate, a generous rate limit.
    public static var realistic: SandboxKnobs {
        var k = SandboxKnobs()
        k.serverErrorRate = 0.01
        k.sentDelay = 0.05
        k.deliveryDelayMin = 0.1
        k.deliveryDelayMax = 0.5
        k.duplicateCallbackRate = 0.01
        k.segmentsPerSecond = 100
        k.burstSegments = 200
        return k
    }

    /// High fault rates of every kind.
    public static var chaos: SandboxKnobs {
        var k = SandboxKnobs()
        k.serverErrorRate = 0.1
        k.slowAnswerRate = 0.05
        k.slowAnswerDelay = 15
        k.sentDelay = 0.1
        k.deliveryDelayMin = 0.2
        k.deliveryDelayMax = 3
        k.duplicateCallbackRate = 0.2
        k.outOfOrderCallbackRate = 0.2
        k.segmentsPerSecond = 5
        k.burstSegments = 10
        return k
    }

    public static func profile(named name: String) -> SandboxKnobs? {
        switch name {
        case "perfect": .perfect
        case "realistic": .realistic
        case "chaos": .chaos
        default: nil
        }
    }

    public init(from decoder: any Decoder) throws {
        // Every field optional: start from the defaults.
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SandboxKnobs()
        serverErrorRate = try c.decodeIfPresent(Double.self, forKey: .serverErrorRate) ?? d.serverErrorRate
        slowAnswerRate = try c.decodeIfPresent(Double.self, forKey: .slowAnswerRate) ?? d.slowAnswerRate
        slowAnswerDelay = try c.decodeIfPresent(Double.self, forKey: .slowAnswerDelay) ?? d.slowAnswerDelay
        sentDelay = try c.decodeIfPresent(Double.self, forKey: .sentDelay) ?? d.sentDelay
        deliveryDelayMin = try c.decodeIfPresent(Double.self, forKey: .deliveryDelayMin) ?? d.deliveryDelayMin
        deliveryDelayMax = try c.decodeIfPresent(Double.self, forKey: .deliveryDelayMax) ?? d.deliveryDelayMax
        callbacks = try c.decodeIfPresent(Bool.self, forKey: .callbacks) ?? d.callbacks
        deliveryCallbacks = try c.decodeIfPresent(Bool.self, forKey: .deliveryCallbacks) ?? d.deliveryCallbacks
        plumListDeliveryStatus = try c.decodeIfPresent(Bool.self, forKey: .plumListDeliveryStatus) ?? d.plumListDeliveryStatus
        plumCallbackDelivery = try c.decodeIfPresent(PlumCallbackDelivery.self, forKey: .plumCallbackDelivery) ?? d.plumCallbackDelivery
        duplicateCallbackRate = try c.decodeIfPresent(Double.self, forKey: .duplicateCallbackRate) ?? d.duplicateCallbackRate
        outOfOrderCallbackRate = try c.decodeIfPresent(Double.self, forKey: .outOfOrderCallbackRate) ?? d.outOfOrderCallbackRate
        segmentsPerSecond = try c.decodeIfPresent(Double.self, forKey: .segmentsPerSecond) ?? d.segmentsPerSecond
        burstSegments = try c.decodeIfPresent(Double.self, forKey: .burstSegments) ?? d.burstSegments
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        acceptThen5xxRate = try c.decodeIfPresent(Double.self, forKey: .acceptThen5xxRate) ?? d.acceptThen5xxRate
        acceptThen5xxCount = try c.decodeIfPresent(Int.self, forKey: .acceptThen5xxCount) ?? d.acceptThen5xxCount
        acceptThen5xxStatus = try c.decodeIfPresent(Int.self, forKey: .acceptThen5xxStatus) ?? d.acceptThen5xxStatus
        lateCommitRate = try c.decodeIfPresent(Double.self, forKey: .lateCommitRate) ?? d.lateCommitRate
        lateCommitDelay = try c.decodeIfPresent(Double.self, forKey: .lateCommitDelay) ?? d.lateCommitDelay
        listLag = try c.decodeIfPresent(Double.self, forKey: .listLag) ?? d.listLag
        outageSeconds = try c.decodeIfPresent(Double.self, forKey: .outageSeconds) ?? d.outageSeconds
        outageStart = try c.decodeIfPresent(Double.self, forKey: .outageStart) ?? d.outageStart
        outageMode = try c.decodeIfPresent(OutageMode.self, forKey: .outageMode) ?? d.outageMode
        bodyNormalisation = try c.decodeIfPresent(BodyNormalisation.self, forKey: .bodyNormalisation) ?? d.bodyNormalisation
        if acceptThen5xxStatus != 0 && !(500...599).contains(acceptThen5xxStatus) {
            throw DecodingError.dataCorruptedError(forKey: .acceptThen5xxStatus, in: c, debugDescription: "a 5xx status or 0")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case serverErrorRate = "server_error_rate", slowAnswerRate = "slow_answer_rate", slowAnswerDelay = "slow_answer_delay_s"
        case sentDelay = "sent_delay_s", deliveryDelayMin = "delivery_delay_min_s", deliveryDelayMax = "delivery_delay_max_s"
        case callbacks, deliveryCallbacks = "delivery_callbacks", plumListDeliveryStatus = "plum_list_delivery_status"
        case plumCallbackDelivery = "plum_callback_delivery", duplicateCallbackRate = "duplicate_callback_rate", outOfOrderCallbackRate = "out_of_order_callback_rate"
        case segmentsPerSecond = "segments_per_second", burstSegments = "burst_segments", seed
        case acceptThen5xxRate = "accept_then_5xx_rate", acceptThen5xxCount = "accept_then_5xx_count"
        case acceptThen5xxStatus = "accept_then_5xx_status", lateCommitRate = "late_commit_rate"
        case lateCommitDelay = "late_commit_delay_s", listLag = "list_lag_s", outageSeconds = "outage_s"
        case outageStart = "outage_start_s", outageMode = "outage_mode", bodyNormalisation = "body_normalisation"
    }
}
