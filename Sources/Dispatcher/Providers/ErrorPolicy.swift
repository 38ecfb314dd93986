/// What the dispatcher does after an error.
public enum ErrorAction: String, Sendable, Codable {
    /// Back to `pending` with backoff. Only for answers that prove the provider did not take
    /// the message.
    case retry
    /// The provider may have taken the message: `in_doubt`, looked up at the provider (and its
    /// callbacks awaited) before any resend.
    case lookUp = "look_up"
    /// Final `failed`.
    case fail
    /// Final `failed`, and the recipient goes on the opt-out list.
    case failAndOptOut = "fail_opt_out"
    /// Stop sending from this sender number until an operator resumes it.
    case haltSender = "halt_sender"
    /// Stop sending through this provider account until an operator resumes it.
    case haltAccount = "halt_account"
}

/// One row of the policy table.
public struct ErrorRule: Sendable, Equatable {
    public var action: ErrorAction
    /// For `.retry`: at most this many retries for this code (nil: the configured `max_attempts`).
    public var maxRetries: Int?
    /// The sender's rate should drop (queue overflow, rate limiting) and recover gradually.
    public var slowsDown: Bool
    /// The answer proves the request never reached the provider's application (no connection,
    /// 503): the attempt is given back, and it counts towards the provider's circuit breaker.
    public var nothingSent: Bool

    public init(_ action: ErrorAction, maxRetries: Int? = nil, slowsDown: Bool = false, nothingSent: Bool = false) {
        self.action = action
        self.maxRetries = maxRetries
        self.slowsDown = slowsDown
        self.nothingSent = nothingSent
    }
}

/// THE error policy: every normalised code with its action. One table, read by the sender;
/// tested in ErrorPolicyTests. Each kind normalises its own codes and texts in its folder
/// (`Restcomm/ErrorPolicy+Restcomm.swift`, `PlumClient.normalise(failureText:)`).
///
/// Exactly once hinges on one question: does the answer prove the provider did not take the
/// message? Only then is it retried directly — no connection, or a request that failed before
/// it was fully written; a provider's failure answer (Plum's `"status":"failure"` envelope,
/// Restcomm's JSON error), whatever its status, or a 4xx; 429 and 503; a documented
/// rate-limit or queue-full answer (Restcomm 30001). Every answer that leaves acceptance
/// unknown — a timeout or a reset after the request was written, 500, 502, 504 or any other
/// 5xx without the provider's failure answer (a front end may fail after the provider
/// committed), a 2xx that cannot be read — makes the message `in_doubt`
/// (`lookUp`): it is looked up at the provider, and its callbacks awaited, before any resend.
public enum ErrorPolicy {
    public static let table: [ErrorCode: ErrorRule] = [
        // Not taken, transient: try again later.
        .queueOverflow: ErrorRule(.retry, slowsDown: true),       // Restcomm 30001
        .rateLimited: ErrorRule(.retry, slowsDown: true),         // HTTP 429
        .noConnection: ErrorRule(.retry, nothingSent: true),      // refused, or failed before fully written
        .serviceUnavailable: ErrorRule(.retry, nothingSent: true), // HTTP 503
        .serverError: ErrorRule(.retry),                          // 5xx with the provider's failure answer
        // Perhaps taken: look it up first.
        .timeout: ErrorRule(.lookUp),                             // timeout or reset after sending, unreadable 2xx
        .http5xx: ErrorRule(.lookUp),                             // 500, 502, 504, …
        // Taken by the provider, then failed there: retry.
        .unknownError: ErrorRule(.retry),                         // 30008
        .missingSegment: ErrorRule(.retry),                       // 30009
        .noResponse: ErrorRule(.retry),                           // 30090
        .unreachable: ErrorRule(.retry, maxRetries: 2),           // 30003: the handset may come back
        // Permanent for this message.
        .blocked: ErrorRule(.fail),                               // 30004
        .unknownDestination: ErrorRule(.fail),                    // 30005
        .landline: ErrorRule(.fail),                              // 30006, Plum "is not a mobile number"
        .carrierViolation: ErrorRule(.fail),                      // 30007
        .invalidNumber: ErrorRule(.fail),                         // Plum "Invalid 'to' phone number"
        .messageTooLong: ErrorRule(.fail),
        .invalidRequest: ErrorRule(.fail),
        .providerError: ErrorRule(.fail),
        // The recipient said STOP at the provider.
        .unsubscribed: ErrorRule(.failAndOptOut),                 // Plum "Attempt to send to unsubscribed recipient"
        // Nothing will get through until an operator acts.
        .authFailed: ErrorRule(.haltAccount),                     // HTTP 401, Plum "Unauthorized access"
        .accountSuspended: ErrorRule(.haltAccount),               // 30002
        .priceExceeded: ErrorRule(.haltAccount),                  // 30010: the account's max price setting
    ]

    public static func rule(for code: ErrorCode) -> ErrorRule {
        table[code] ?? ErrorRule(.fail)
    }

    public static func rule(for failure: ProviderFailure) -> ErrorRule {
        rule(for: failure.code)
    }

    /// The code of a failure answer the provider wrote (its envelope) with `status`, when its
    /// words are not recognised: a 5xx is the provider's refusal (`serverError`; 503
    /// `serviceUnavailable`), anything else by its status.
    public static func normalise(envelopeWithStatus status: Int) -> ErrorCode {
        status == 503 ? .serviceUnavailable : (500...599).contains(status) ? .serverError : normalise(httpStatus: status)
    }

    /// The normalised code of an HTTP status without a recognisable error body.
    public static func normalise(httpStatus: Int) -> ErrorCode {
        switch httpStatus {
        case 401, 403: .authFailed
        case 413: .messageTooLong
        case 429: .rateLimited
        case 503: .serviceUnavailable
        case 500...599: .http5xx
        default: .invalidRequest
        }
    }
}
