/// Normalised error codes, stored beside the provider's raw code or text.
public enum ErrorCode: String, Sendable, CaseIterable, Codable {
    case invalidNumber = "invalid_number"
    case unsubscribed
    case landline
    case blocked
    case queueOverflow = "queue_overflow"
    case accountSuspended = "account_suspended"
    case carrierViolation = "carrier_violation"
    case unreachable
    case unknownDestination = "unknown_destination"
    case unknownError = "unknown_error"
    case missingSegment = "missing_segment"
    case priceExceeded = "price_exceeded"
    case noResponse = "no_response"
    case timeout
    case noConnection = "no_connection"
    /// A 5xx other than 503: the provider (or its front end) may have taken the message.
    case http5xx = "http_5xx"
    /// A 5xx carrying the provider's own failure answer (Plum's failure envelope, Restcomm's
    /// JSON error): the provider refused the message.
    case serverError = "server_error"
    /// HTTP 503: the provider is not taking requests; nothing was accepted.
    case serviceUnavailable = "service_unavailable"
    case rateLimited = "rate_limited"
    case authFailed = "auth_failed"
    case messageTooLong = "message_too_long"
    /// Any other 4xx answer or refusal of the request itself.
    case invalidRequest = "invalid_request"
    /// A failure the provider described in words we do not recognise (raw text kept).
    case providerError = "provider_error"
}
