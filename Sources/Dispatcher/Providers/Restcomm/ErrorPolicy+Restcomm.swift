extension ErrorPolicy {
    /// Restcomm's documented SMS error codes and the Twilio-compatible request errors the
    /// sandbox uses, normalised.
    public static let restcommCodes: [Int: ErrorCode] = [
        30001: .queueOverflow,
        30002: .accountSuspended,
        30003: .unreachable,
        30004: .blocked,
        30005: .unknownDestination,
        30006: .landline,
        30007: .carrierViolation,
        30008: .unknownError,
        30009: .missingSegment,
        30010: .priceExceeded,
        30090: .noResponse,
        20003: .authFailed,
        20429: .rateLimited,
        21211: .invalidNumber,
        21610: .unsubscribed,
        21614: .landline,
        21617: .messageTooLong,
    ]

    /// The normalised code of a Restcomm error code (unknown codes: `providerError`).
    public static func normalise(restcommCode: Int) -> ErrorCode {
        restcommCodes[restcommCode] ?? .providerError
    }
}
